"""The packed form the mirror hands the engine: the same slots as the Interval lists it
replaces, for every case the brute-force reference checks (DST changes included)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scheduler.availability import Interval
from scheduler.packed import PackedBusy, from_us, to_us
from tests.unit.test_availability_properties import PROPERTY, Case, Reference, cases

T0 = datetime(2026, 3, 8, tzinfo=UTC)
MINUTE = 60_000_000


def packed_case(case: Case, split: int) -> Case:
    """The same people with their busy time packed, some of it in two parts."""
    people = []
    for person in case.people:
        busy = list(person.busy)
        parts = (PackedBusy.from_intervals(busy[:split]), PackedBusy.from_intervals(busy[split:]))
        people.append(replace(person, busy=(), packed=parts))
    return replace(case, people=people)


@PROPERTY
@given(cases(), st.integers(0, 4))
def test_packed_busy_gives_exactly_the_slots_of_interval_busy(case: Case, split: int) -> None:
    packed = packed_case(case, split)
    assert packed.run() == case.run() == Reference(case).all_slots()


@PROPERTY
@given(cases(), st.integers(0, 12), st.integers(0, 12))
def test_grown_parts_block_like_busy_grown_by_hand(case: Case, before: int, after: int) -> None:
    """A person's own buffers widen the packed view without copying; the answer is the one
    busy time widened interval by interval gives."""
    grow_before, grow_after = timedelta(minutes=5 * before), timedelta(minutes=5 * after)
    by_hand = replace(case, people=[
        replace(p, busy=[Interval(b.start - grow_after, b.end + grow_before) for b in p.busy])
        for p in case.people])
    grown = replace(case, people=[
        replace(p, busy=(), packed=(PackedBusy.from_intervals(p.busy).grown(grow_before,
                                                                            grow_after),))
        for p in case.people])
    assert grown.run() == by_hand.run()


pairs = st.lists(st.tuples(st.integers(0, 500), st.integers(1, 60)), max_size=40)


@PROPERTY
@given(pairs, st.integers(-50, 600), st.integers(1, 200), st.integers(0, 30),
       st.integers(0, 30))
def test_touching_is_every_widened_piece_that_overlaps(raw, lo, length, before, after) -> None:
    packed = PackedBusy.from_pairs((s * MINUTE, (s + d) * MINUTE) for s, d in raw)
    assert all(a < b for a, b in zip(packed.ends, packed.starts[1:], strict=False)), \
        "pieces are disjoint and apart"
    view = packed.grown(timedelta(minutes=before), timedelta(minutes=after))
    low, high = lo * MINUTE, (lo + length) * MINUTE
    expected = [(s - after * MINUTE, e + before * MINUTE)
                for s, e in zip(packed.starts, packed.ends, strict=True)
                if s - after * MINUTE < high and e + before * MINUTE > low]
    assert list(view.touching(low, high)) == expected


@given(pairs)
def test_from_pairs_is_the_union(raw) -> None:
    packed = PackedBusy.from_pairs((s * MINUTE, (s + d) * MINUTE) for s, d in raw)
    covered = {m for s, d in raw for m in range(s, s + d)}
    assert {m for s, e in zip(packed.starts, packed.ends, strict=True)
            for m in range(s // MINUTE, e // MINUTE)} == covered


def test_microseconds_round_trip_and_touching_pieces_join() -> None:
    moment = T0 + timedelta(hours=7, microseconds=5)
    assert from_us(to_us(moment)) == moment
    assert len(PackedBusy.from_intervals([Interval(T0, T0 + timedelta(hours=1))])) == 1

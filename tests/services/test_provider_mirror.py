"""A connected account's busy time mirrored by its sync (Google through
google-api-python-client, Outlook through msal and Graph, each against its emulator):
proposals from a fresh mirror ask the provider nothing; an old mirror, or none, is not
trusted and the provider is asked; a busy time the mirror has not seen yet cannot be booked
over (the booking checks the provider itself: 409 slot_taken)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest

from scheduler.booking import book_followup, propose_slots
from scheduler.errors import SlotTaken
from scheduler.sync import sync_all
from tests.services.helpers import booking, proposal
from tests.services.test_followup_lifecycle import REP, World, _google, _outlook


@pytest.fixture(params=["google", "outlook"])
def world(request, tmp_path, clock) -> Iterator[World]:
    from scheduler.accounts import add_user
    from scheduler.connections import connect_account

    with ExitStack() as stack:
        opened = {"google": _google, "outlook": _outlook}[request.param](stack, tmp_path,
                                                                         clock)
        runtime = opened.runtime
        opened.rep = add_user(REP, name="Riley Rep", timezone="America/New_York",
                              store=runtime.store, clock=clock)
        connect_account(user_id=opened.rep.id, provider=opened.name,
                        credentials=opened.credentials, store=runtime.store,
                        calendars=runtime.calendars, clock=clock)
        yield opened
        runtime.store.dispose()


def add_busy(world: World, slot) -> None:
    if world.name == "google":
        world.backend.add_busy(REP, slot.start, slot.end)
    else:
        world.backend.add_event(REP, slot.start, slot.end)


def propose(world: World):
    runtime = world.runtime
    return propose_slots(proposal(), rep=world.rep, store=runtime.store,
                         calendars=runtime.calendars, clock=runtime.clock,
                         settings=runtime.settings).slots


def sync(world: World) -> None:
    runtime = world.runtime
    sync_all(store=runtime.store, calendars=runtime.calendars, clock=runtime.clock)


def test_a_fresh_mirror_answers_without_the_provider_and_a_sync_brings_changes(world):
    sync(world)
    first = propose(world)[0]
    asked = world.backend.request_count()
    assert propose(world)[0] == first
    assert world.backend.request_count() == asked, "a fresh mirror asks nothing"

    add_busy(world, first)
    assert propose(world)[0] == first, "not synced yet: the mirror has not seen it"
    sync(world)  # what the change notification (or the poll) brings about
    assert first not in propose(world)


def test_an_old_mirror_is_not_trusted_and_the_provider_is_asked(world):
    sync(world)
    first = propose(world)[0]
    add_busy(world, first)
    world.runtime.clock.advance(
        timedelta(minutes=world.runtime.settings.busy_mirror_max_age_minutes, seconds=1))
    asked = world.backend.request_count()
    assert first not in propose(world)
    assert world.backend.request_count() > asked


def test_without_a_sync_there_is_no_mirror_and_proposals_ask_the_provider(world):
    asked = world.backend.request_count()
    first = propose(world)[0]
    assert world.backend.request_count() > asked
    add_busy(world, first)
    assert first not in propose(world)


def test_a_busy_time_the_mirror_missed_cannot_be_booked_over(world):
    sync(world)
    first = propose(world)[0]
    add_busy(world, first)
    assert propose(world)[0] == first  # offered from the mirror, as it stands
    with pytest.raises(SlotTaken):
        book_followup(booking(first.start), rep=world.rep, **world.runtime.deps())


def test_the_tick_polls_a_mirror_about_to_age_out(world):
    runtime = world.runtime
    sync(world)
    first = propose(world)[0]
    add_busy(world, first)
    runtime.clock.advance(timedelta(minutes=runtime.settings.busy_mirror_max_age_minutes - 1))
    runtime.tick()  # asks for the sync and runs it
    asked = world.backend.request_count()
    assert first not in propose(world)
    assert world.backend.request_count() == asked, "answered from the refreshed mirror"


def test_choosing_other_busy_calendars_drops_the_mirror_until_the_next_sync(world):
    from scheduler.connections import choose_calendars, connections_of

    runtime = world.runtime
    sync(world)
    propose(world)
    [connection] = [c for c in connections_of(runtime.store, world.rep.id)
                    if c.provider == world.name]
    first = propose(world)[0]
    add_busy(world, first)
    choose_calendars(connection.id, user_id=world.rep.id, busy=[REP, "holidays@example.com"],
                     booking=REP, store=runtime.store, calendars=runtime.calendars)
    asked = world.backend.request_count()
    assert first not in propose(world), "read from the provider, not the old mirror"
    assert world.backend.request_count() > asked

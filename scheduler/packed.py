"""Busy time as the engine reads it: sorted, disjoint [start, end) pairs of integer
microseconds since the epoch in two flat arrays. The mirror keeps every person's busy time
this way (16 bytes an interval, no objects), and a proposal looks up only the few pieces
near the working time it visits, by bisection, instead of walking the whole list."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + US * us


@dataclass(frozen=True, eq=False)
class PackedBusy:
    """One calendar's busy time, merged. `grow_before`/`grow_after` (µs) widen every piece
    as it is read (a person's own buffers) without copying the arrays."""

    starts: array = field(default_factory=lambda: array("q"))
    ends: array = field(default_factory=lambda: array("q"))
    grow_before: int = 0  # added after each end: time needed after a busy piece
    grow_after: int = 0  # taken before each start: time needed before one

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int]]) -> PackedBusy:
        """Any µs pairs, in any order, overlapping or not."""
        starts, ends = array("q"), array("q")
        for start, end in sorted(pairs):
            if end <= start:
                continue
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
                continue
            starts.append(start)
            ends.append(end)
        return cls(starts, ends)

    @classmethod
    def from_intervals(cls, intervals: Iterable) -> PackedBusy:
        return cls.from_pairs((to_us(i.start), to_us(i.end)) for i in intervals)

    def __len__(self) -> int:
        return len(self.starts)

    def grown(self, before: timedelta, after: timedelta) -> PackedBusy:
        """The same busy time read wider: a slot must start `before` after a piece ends and
        end `after` before one starts."""
        if not (before or after):
            return self
        return PackedBusy(self.starts, self.ends, self.grow_before + before // US,
                          self.grow_after + after // US)

    def touching(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """The pieces, as widened, that overlap [lo, hi), in order."""
        before, after = self.grow_before, self.grow_after
        first = bisect_right(self.ends, lo - before)
        last = bisect_left(self.starts, hi + after, first)
        starts, ends = self.starts, self.ends
        for index in range(first, last):
            yield starts[index] - after, ends[index] + before

    def nbytes(self) -> int:
        return (len(self.starts) + len(self.ends)) * self.starts.itemsize


EMPTY = PackedBusy()

"""One access policy: who may see and change a rep's follow-ups, connections and log.

Every read and write path asks `Viewer.may_see(owner_id)` instead of comparing rep ids
itself, so a team rule (Teams) changes this module only. A viewer is the signed-in rep,
the prospect holding a link token (the token already names the one follow-up it opens),
or the system (sync, workers, the CLI) acting on any rep's behalf.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["rep", "prospect", "system"]


@dataclass(frozen=True)
class Viewer:
    kind: Kind
    rep_id: int | None = None

    @classmethod
    def rep(cls, rep_id: int) -> Viewer:
        return cls("rep", rep_id)

    def may_see(self, owner_id: int) -> bool:
        return self.kind != "rep" or owner_id in visible_rep_ids(self)


def visible_rep_ids(viewer: Viewer) -> frozenset[int] | None:
    """The reps whose records this viewer sees; None means every rep (prospect, system)."""
    if viewer.kind == "rep":
        assert viewer.rep_id is not None
        return frozenset({viewer.rep_id})
    return None


SYSTEM = Viewer("system")
PROSPECT = Viewer("prospect")

"""The one access rule, stated as a table: a rep sees only their own records; the
prospect (through a link token) and the system are not limited to a rep."""

from __future__ import annotations

import pytest

from scheduler.access import PROSPECT, SYSTEM, Viewer, visible_rep_ids


@pytest.mark.parametrize(("viewer", "owner", "sees"), [
    (Viewer.rep(1), 1, True),
    (Viewer.rep(1), 2, False),
    (PROSPECT, 2, True),
    (SYSTEM, 2, True),
])
def test_who_may_see_a_reps_record(viewer, owner, sees):
    assert viewer.may_see(owner) is sees


def test_visible_rep_ids_names_the_rep_or_everyone():
    assert visible_rep_ids(Viewer.rep(7)) == frozenset({7})
    assert visible_rep_ids(SYSTEM) is None
    assert visible_rep_ids(PROSPECT) is None


def test_a_viewer_cannot_be_changed_after_it_is_built():
    with pytest.raises(AttributeError):
        Viewer.rep(1).rep_id = 2  # type: ignore[misc]

"""Every write of busy time goes through the functions that bump its version
(scheduler.busy_versions): a reservation or built-in calendar row written anywhere else
would leave every process's mirror showing the old time. Checked on the source, as a
reader would."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# table -> the one module allowed to write it
OWNERS = {"Reservation": "scheduler/reservations.py",
          "LocalEvent": "scheduler/providers/local.py",
          "MirroredBusy": "scheduler/sync.py"}


def writes(source: str, model: str) -> list[str]:
    pattern = re.compile(rf"\b(update|delete|insert)\({model}\)|\b{model}\((?!Base)")
    return [line.strip() for line in source.splitlines() if pattern.search(line)]


def test_busy_time_is_written_only_where_its_version_is_bumped() -> None:
    found = {}
    for path in [*ROOT.glob("scheduler/**/*.py"), *ROOT.glob("web/**/*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative or relative == "scheduler/store/models.py":
            continue
        text = path.read_text()
        for model, owner in OWNERS.items():
            if relative != owner and (lines := writes(text, model)):
                found[(relative, model)] = lines
    assert found == {}


def test_each_owner_bumps_the_version_it_owns() -> None:
    for owner in OWNERS.values():
        assert "busy_changed(" in (ROOT / owner).read_text(), owner

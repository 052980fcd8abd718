"""Run every bench/bench_*.py module in name order; an argument filters by module name.

Each module's `run()` returns or yields (name, value, unit); lines read `name: value unit`
so two runs can be diffed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    wanted = argv[0] if argv else ""
    names = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    selected = [name for name in names if wanted in name]
    if not selected:
        print(f"no benchmark module matches {wanted!r}", file=sys.stderr)
        return 1
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        for figure, value, unit in module.run():
            print(f"{figure}: {value} {unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

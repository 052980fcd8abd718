"""The domain stands without the web: importing all of scheduler/ loads no Flask."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import pkgutil, importlib, sys, scheduler
for module in pkgutil.walk_packages(scheduler.__path__, "scheduler."):
    if ".migrations" in module.name:
        continue
    importlib.import_module(module.name)
print("flask" in sys.modules)
"""


def test_importing_the_whole_domain_loads_no_flask():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_availability_and_plans_do_no_io():
    check = ("import sys, scheduler.availability, scheduler.plans;"
             "print(sorted(m for m in ('sqlalchemy','requests','socket','smtplib')"
             " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"

"""The package as a deployer gets it: `pip install .` (not editable) into a fresh virtual
environment, then `nextstep demo --google-sandbox` from that environment. It proves the
wheel carries what the demo needs (templates, static files, migrations, the Google sandbox)
and that no production module imports `tests`, which is not in the wheel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.commands.conftest import make_site, wait_for
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("pyproject.toml", "README.md", "scheduler", "web")
DEPENDENCIES = Path(sysconfig.get_paths()["purelib"])  # this test run's own site-packages


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh environment with Nextstep installed from a copy of the source (so the build
    leaves nothing in the checkout). Its dependencies come from this run's environment
    through a .pth line: a line adds the folder only, so the editable install of the
    checkout found there stays inert."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    environment = work / "env"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    Path(purelib, "nextstep-dependencies.pth").write_text(f"{DEPENDENCIES}\n")
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                             "--quiet", "--no-deps",
                             str(source)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return environment


def test_the_installed_package_imports_from_itself_and_finds_no_tests(installed, tmp_path):
    probe = ("import importlib.util, scheduler, web.cli, web.sandbox.google; "
             "print(scheduler.__file__); print(importlib.util.find_spec('tests'))")
    result = subprocess.run([installed / "bin" / "python", "-c", probe], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    location, tests_spec = result.stdout.splitlines()
    assert Path(location).is_relative_to(installed)
    assert tests_spec == "None"


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value") or ""


def test_the_installed_demo_serves_the_app_and_its_google_sandbox(installed, tmp_path):
    site = make_site(tmp_path)
    port = free_port()
    demo = site.start("demo", "--port", str(port), "--google-sandbox",
                      command=installed / "bin" / "nextstep")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: "API token:" in demo.output and _answers(base), "the demo", demo)
        sandbox = re.search(r"sandbox at (http://\S+);", demo.output).group(1)
        email, password = re.search(r"sign in:\s+(\S+) / (\S+)", demo.output).groups()
        with requests.Session() as browser:
            form = _Form()
            form.feed(browser.get(f"{base}/login", timeout=10).text)
            signed_in = browser.post(f"{base}/login", timeout=10, allow_redirects=False,
                                     data={**form.fields, "email": email,
                                           "password": password})
            assert signed_in.status_code == 302, signed_in.text
            connect = browser.get(f"{base}/connections/google/connect", timeout=10,
                                  allow_redirects=False)
            assert connect.status_code == 302
            assert connect.headers["Location"].startswith(f"{sandbox}/o/oauth2/auth?")
            consent = browser.get(connect.headers["Location"], timeout=10)
        assert consent.status_code == 200
        assert email in consent.text
    finally:
        site.stop_all()


def _answers(base: str) -> bool:
    try:
        health = requests.get(f"{base}/api/v1/health", timeout=2)
    except (requests.ConnectionError, requests.Timeout):
        return False
    return health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}

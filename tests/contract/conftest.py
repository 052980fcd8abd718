"""Runs the one contract suite against every calendar provider's real backend."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from tests.contract.harness import ProviderHarness

# provider name -> module with `open_harness(tmp_path) -> context manager of ProviderHarness`
HARNESS_MODULES = {
    "local": "tests.contract.harness_local",
    "google": "tests.contract.harness_google",
    "outlook": "tests.contract.harness_outlook",
    "memory": "tests.contract.harness_memory",  # a fifth, added through the registry alone
}


def _available() -> list[str]:
    names = []
    for name, module in HARNESS_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        names.append(name)
    return names


@pytest.fixture(params=_available())
def harness(request, tmp_path) -> ProviderHarness:
    open_harness: Callable[..., AbstractContextManager[ProviderHarness]] = (
        importlib.import_module(HARNESS_MODULES[request.param]).open_harness)
    with open_harness(tmp_path) as opened:
        yield opened

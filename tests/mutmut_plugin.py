"""A pytest plugin for `make mutation` only (`-p tests.mutmut_plugin` in pyproject's [tool.mutmut]).

1. The policy pack runs with policy/ as its working directory, so the tests import it as the
   top-level module `spywatcher_policies`; mutmut names its mutants `policy.spywatcher_policies.*`
   and only switches on a mutant in a module of that name. Importing the pack once under its
   package name and aliasing it makes both names one module, so the policy mutants are tested at all.

2. mutmut learns which tests reach which function by recording, per test, the functions called
   between the test's start and its teardown. A session- or module-scoped fixture (`plans`,
   `fixture_plans`, a module's `run_stack(...)` plan) is set up once, inside the first test that
   needs it, so every function the stack program calls would be credited to that one test only,
   and a mutant would never be run against the later tests that read the same plan (a false
   survivor). While mutmut records (mutant "stats"), the functions a shared fixture calls are
   credited to every test that uses the fixture. This only widens the tests run per mutant: each
   mutant run still computes every fixture afresh, with the mutant switched on.

3. mutmut passes a mutant's tests in no particular order (a set); pytest runs them in that order
   and tears a module's fixtures down each time it moves to another module, so a module's shared
   plan could be built again and again within one mutant's run. The tests are put back in file
   order (the same tests, only grouped), so each module's fixtures are built once per run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest

sys.modules.setdefault("spywatcher_policies", importlib.import_module("policy.spywatcher_policies"))

# id(FixtureDef) -> the functions (mutmut keys) its setup called; filled while recording only.
_SHARED_FIXTURE_CALLS: dict[int, set[str]] = {}


def _recording() -> bool:
    from mutmut.mutation.trampoline import get_mutant_under_test

    return get_mutant_under_test() == "stats"


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Iterator[None]:
    if fixturedef.scope == "function" or not _recording():
        yield
        return
    from mutmut.state import state

    outer = state()._stats
    state()._stats = set()
    try:
        yield
    finally:
        calls = state()._stats
        state()._stats = outer | calls
        _SHARED_FIXTURE_CALLS[id(fixturedef)] = calls


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut files this test's calls: add those of the shared fixtures it uses."""
    if not _SHARED_FIXTURE_CALLS or not _recording():
        return
    from mutmut.state import state

    definitions = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]
    for name in item.fixturenames:  # type: ignore[attr-defined]
        for fixturedef in definitions.get(name, ()):
            state()._stats |= _SHARED_FIXTURE_CALLS.get(id(fixturedef), set())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (str(item.path), order[id(item)]))

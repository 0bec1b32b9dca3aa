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

4. mutmut forks each mutant's pytest from a server that has only collected the tests. The pulumi
   SDKs load their resource modules lazily, on first use, so every mutant's first stack paid
   seconds of module loading again. The server loads them once, after collection: the modules a
   clean run of every stack loads (listed by a separate process) that sit lazily in sys.modules
   are loaded. Only third-party modules are loaded this way and no program function runs in the
   server, so nothing a mutant changes can be computed before it is switched on.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
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


_LISTING = """
import json, sys
from offline.engine import run_stack
from config.stackfile import fixture_names, stack_names
for stack in [*stack_names(), *fixture_names()]:
    run_stack(stack)
print(json.dumps(list(sys.modules)))
"""


def load_what_the_program_loads() -> int:
    """Load the lazily imported modules a run of every stack loads; how many were loaded."""
    env = {**os.environ, "MUTANT_UNDER_TEST": ""}
    listed = subprocess.run([sys.executable, "-c", _LISTING], capture_output=True, text=True, env=env, check=False)
    if listed.returncode != 0:
        return 0  # only a speed-up: each mutant then loads them itself
    names = json.loads(listed.stdout.splitlines()[-1])
    tried: set[str] = set()
    while True:  # loading a package can put more of its modules in sys.modules, lazily
        lazy = [n for n in names if n not in tried and type(sys.modules.get(n)).__name__ == "_LazyModule"]
        if not lazy:
            return len(tried)
        for name in lazy:
            tried.add(name)
            try:
                vars(sys.modules[name])  # the first attribute access executes a lazy module
            except Exception:  # the mutant's own run meets the same error
                continue


def pytest_collection_finish(session: pytest.Session) -> None:
    """In mutmut's fork server only: its warm-up is a collection with no mutant switched on."""
    from mutmut.mutation.trampoline import get_mutant_under_test

    if session.config.option.collectonly and get_mutant_under_test() == "":
        load_what_the_program_loads()

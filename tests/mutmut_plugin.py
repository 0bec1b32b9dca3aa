"""A pytest plugin for `make mutation` only (`-p tests.mutmut_plugin` in pyproject's [tool.mutmut]).

The policy pack runs with policy/ as its working directory, so the tests import it as the
top-level module `spywatcher_policies`; mutmut names its mutants `policy.spywatcher_policies.*`
and only switches on a mutant in a module of that name. Importing the pack once under its package
name and aliasing it makes both names one module, so the policy mutants are tested at all.
"""

from __future__ import annotations

import importlib
import sys

sys.modules.setdefault("spywatcher_policies", importlib.import_module("policy.spywatcher_policies"))

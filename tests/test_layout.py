"""The code's layout: every module says what it is for, and imports between modules run one way."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("config", "components", "offline", "simulate", "tooling", "policy", "benchmarks", "tests")


def _modules() -> dict[str, Path]:
    """Every module of the project by dotted name (``offline.diff``, ``simulate``)."""
    found = {"__main__": ROOT / "__main__.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if any(part in ("venv", "__pycache__") or part.startswith(".") for part in parts):
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


@functools.cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for every test here (half a second for the project)."""
    return ast.parse(path.read_text())


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports anywhere in its body (lazy imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            # the module itself, or the nearest project package above it
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], dict.fromkeys(graph, 0)

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target])
            elif state.get(target) == 0:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node, [node])
    return cycles


def test_every_module_opens_with_a_docstring_saying_what_it_is_for() -> None:
    missing = []
    for path in _modules().values():
        docstring = ast.get_docstring(_tree(path)) or ""
        if len(docstring.split("\n")[0]) < 20:
            missing.append(str(path.relative_to(ROOT)))
    assert missing == [], "give each a one-line docstring saying what the module is for"


def test_imports_between_modules_run_one_way() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # Packages import their own modules; a module importing its package's __init__ is not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(f"{t}.")}
    assert _cycles(graph) == []


# Each top-level package by layer: a module may import its own layer and those below it, never one
# above (data flows stack file -> settings -> components -> resources; the runner runs the program,
# the simulators read what it renders, the tooling drives them all).
LAYERS = {"config": 0, "components": 1, "__main__": 2, "offline": 2, "simulate": 3, "tooling": 4,
          "benchmarks": 5, "tests": 6}
LONGEST_MODULE = 600  # lines: a module longer than this holds more than one part
LARGEST_PACKAGE = 0.40  # of the product's lines (tests left out): no package is most of the house


def test_imports_between_packages_run_down_the_layers() -> None:
    modules = _modules()
    upward = sorted(
        f"{name} imports {target}"
        for name, path in modules.items()
        for target in _imports(name, path, modules)
        if name.split(".")[0] in LAYERS and target.split(".")[0] in LAYERS
        and LAYERS[target.split(".")[0]] > LAYERS[name.split(".")[0]]
    )
    assert upward == []


def test_the_policy_pack_imports_nothing_of_the_program() -> None:
    """The pack runs in its own virtualenv, without the program on its path."""
    modules = _modules()
    found = {t for name, path in modules.items() if name.startswith("policy")
             for t in _imports(name, path, modules) if not t.startswith("policy")}
    assert found == set()


def test_no_module_is_longer_than_a_part() -> None:
    long = {name: n for name, path in _modules().items() if not name.startswith("tests")
            and (n := len(path.read_text().splitlines())) > LONGEST_MODULE}
    assert long == {}


def test_no_package_holds_most_of_the_code() -> None:
    sizes: dict[str, int] = {}
    for name, path in _modules().items():
        if not name.startswith("tests"):
            top = name.split(".")[0]
            sizes[top] = sizes.get(top, 0) + len(path.read_text().splitlines())
    total = sum(sizes.values())
    assert {p: round(n / total, 2) for p, n in sizes.items() if n / total > LARGEST_PACKAGE} == {}


def test_the_diff_model_is_imported_by_diff_and_report_and_imports_neither() -> None:
    modules = _modules()
    imports = {name: _imports(name, modules[name], modules) for name in ("offline.diff", "offline.report",
                                                                          "offline.changes")}
    assert "offline.changes" in imports["offline.diff"] and "offline.changes" in imports["offline.report"]
    assert "offline.diff" not in imports["offline.report"]
    # The model reads renders and asks the replacement rules what `pulumi up` does with each change.
    assert imports["offline.changes"] == {"offline.snapshot", "offline.replacement"}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_workload_model_keeps_every_name_of_its_parts_importable() -> None:
    """config/workload.py was split along its concerns; importers of config.workload see no change."""
    import config.autoscaling
    import config.lifecycle
    import config.resources
    import config.workload

    for part in (config.resources, config.autoscaling, config.lifecycle):
        names = [n for n, v in vars(part).items()
                 if getattr(v, "__module__", None) == part.__name__ and not n.startswith("_")]
        names += [n for n in ("PeriodSeconds", "WindowSeconds", "Utilization", "MetricName", "IntOrPercent")
                  if n in vars(part)]
        for name in names:
            assert getattr(config.workload, name) is getattr(part, name), f"config.workload.{name}"
            assert name in config.workload.__all__, name
    assert config.workload._surge_pods is config.lifecycle._surge_pods  # config.operations uses it

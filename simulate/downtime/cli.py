"""`python -m offline downtime --stack S [--scenario NAME] [--json]` (`make downtime`): run the
zero-downtime model on a stack and say, per scenario, which property holds. ``--all`` runs it on
every stack and every test stack (`tests/stacks/`), as `make check` does: each must hold every
property in every scenario that applies to it.

Exit codes: 0 every property holds in every scenario; 1 some property fails (one `error:` line per
failing scenario and property, with the instant and the objects, on stderr); 2 bad input (an
unknown option, stack or scenario, a stack file or config the program refuses: one `error:` line
per problem). ``--json`` prints
``{"stack": S, "scenarios": [{"name": N, "properties": [{"name": P, "holds": bool, "detail": "..."}]}]}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from typing import TextIO

from .scenarios import SCENARIOS
from .search import ScenarioResult, check_scenario
from .topology import Topology, TopologyError, load_topology

DESCRIPTION = "Run the zero-downtime model (pods, endpoints, targets, sockets) on a stack's scenarios."


def load(stack: str) -> Topology:
    """The model's view of ``stack``: its program run offline (errors as the other verbs raise them)."""
    from offline.engine import run_stack

    plan = run_stack(stack)
    topology = load_topology(plan)
    # The heap now holds the provider packages' classes, none of them garbage: every collection during
    # the thousands of runs to come would walk them again.
    gc.freeze()
    return topology


def as_json(stack: str, results: list[ScenarioResult]) -> str:
    return json.dumps(
        {
            "stack": stack,
            "scenarios": [
                {
                    "name": r.name,
                    "properties": [{"name": p.name, "holds": p.holds, "detail": p.detail} for p in r.properties],
                }
                for r in results
            ],
        },
        indent=2,
    )


def as_text(stack: str, results: list[ScenarioResult], seconds: dict[str, float]) -> str:
    lines = []
    for result in results:
        failing = [p for p in result.properties if not p.holds]
        verdict = "every property holds" if not failing else f"{len(failing)} of {len(result.properties)} fail"
        lines.append(
            f"{result.name}: {verdict} ({result.runs} runs over {len(result.delays)} delays, "
            f"{seconds[result.name]:.1f} s)"
        )
        for prop in result.properties:
            verdict = "ok  " if prop.holds else "FAIL"
            lines.append(f"  {verdict}  {prop.name}" + ("" if prop.holds else f": {prop.detail}"))
    failed = sum(1 for r in results for p in r.properties if not p.holds)
    checks = sum(len(r.properties) for r in results)
    lines.append(
        f"stack {stack}: every property holds in every scenario ({checks} checks)"
        if not failed
        else f"stack {stack}: {failed} of {checks} checks fail"
    )
    return "\n".join(lines)


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    from offline.cli import Parser, UsageError

    out, err = out or sys.stdout, err or sys.stderr
    parser = Parser(prog="python -m offline downtime", description=DESCRIPTION)
    parser.add_argument("--stack", help="stack name (default: staging)")
    parser.add_argument("--all", action="store_true", help="every stack and every test stack (tests/stacks/)")
    parser.add_argument("--scenario", help=f"one scenario ({', '.join(SCENARIOS)}); default: every one that applies")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    try:
        args = parser.parse_args(argv)
        if args.scenario is not None and args.scenario not in SCENARIOS:
            raise UsageError(f"--scenario {args.scenario!r}: not a scenario (scenarios: {', '.join(SCENARIOS)})")
        if args.all and args.stack is not None:
            raise UsageError("--all and --stack: give one of them")
        if args.all and args.json:
            raise UsageError("--all and --json: the JSON report is one stack's (give --stack)")
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.all:
        from config.stackfile import fixture_names, stack_names

        return max(_one(stack, args, out, err) for stack in [*stack_names(), *fixture_names()])
    return _one(args.stack or "staging", args, out, err)


def _one(stack: str, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Every scenario (or ``args.scenario``) on one stack, reported on ``out`` and ``err``."""
    from config import ConfigError
    from config.stackfile import StackFileError, located

    try:
        topology = load(stack)
    except StackFileError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except ConfigError as exc:
        print(f"error: stack {stack}: {located(stack, exc)}", file=err)
        return 2
    except TopologyError as exc:
        print(f"error: stack {stack}: {exc}", file=err)
        return 2
    if args.scenario is not None and not SCENARIOS[args.scenario].applies(topology):
        why = "does not enable both ingress-nginx and Envoy Gateway (ingressController.enabled, gateway.enabled)"
        if args.all:  # nothing of this stack to check: said, not an error
            print(f"stack {stack}: {args.scenario} does not apply: it {why}", file=out)
            return 0
        print(f"error: --scenario {args.scenario}: stack {stack} {why}", file=err)
        return 2
    seconds: dict[str, float] = {}
    results = []
    for name in [args.scenario] if args.scenario else [n for n, s in SCENARIOS.items() if s.applies(topology)]:
        started = time.perf_counter()
        results.append(check_scenario(topology, SCENARIOS[name]))
        seconds[name] = time.perf_counter() - started
    print(as_json(stack, results) if args.json else as_text(stack, results, seconds), file=out)
    failing = [(r.name, p) for r in results for p in r.properties if not p.holds]
    for scenario, prop in failing:
        print(f"error: {stack} {scenario} {prop.name}: {prop.detail}", file=err)
    return 1 if failing else 0

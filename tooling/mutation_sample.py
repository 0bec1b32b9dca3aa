"""Which mutants a `--sample` runs, in which parts, and the 95 % interval of what it measures."""

from __future__ import annotations

import math
import random
from collections import defaultdict

PACKAGES = ("config", "components", "offline", "simulate", "policy")


def package_of(mutant: str) -> str:
    """The mutated package a mutant's module belongs to (the module itself when none)."""
    module = mutant.rsplit(".", 1)[0]
    return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), module)


def _shuffled(names: list[str], seed: int) -> list[list[str]]:
    """Each package's mutant names, in the order `seed` shuffles them (packages sorted by name)."""
    by_package: dict[str, list[str]] = defaultdict(list)
    for name in sorted(names):
        by_package[package_of(name)].append(name)
    orders = []
    for package, members in sorted(by_package.items()):
        random.Random(f"{seed}:{package}").shuffle(members)
        orders.append(members)
    return orders


def stratified_sample(names: list[str], size: int, seed: int) -> list[str]:
    """About `size` mutants, each package's share in proportion to its mutants (rounded up).

    Each package's mutants are shuffled once by `seed`, and the sample takes a prefix of that
    order, so a larger sample keeps every mutant of a smaller one: extending a sample only runs the
    new mutants.
    """
    return sorted(name for order in _shuffled(names, seed)
                  for name in order[:math.ceil(min(size, len(names)) * len(order) / len(names))])


def in_parts(names: list[str], parts: int, seed: int) -> list[list[str]]:
    """`names` (a sample) split into `parts` runs, each package's mutants spread evenly over them in
    the sample's shuffled order, so the mutants of the first k parts are themselves a sample
    stratified by package: a run stopped after any part still measures every package."""
    split: list[list[str]] = [[] for _ in range(parts)]
    for order in _shuffled(names, seed):
        for i, name in enumerate(order):
            split[i * parts // len(order)].append(name)
    return [part for part in split if part]


def wilson(killed: int, total: int) -> tuple[float, float]:
    """95 % Wilson interval of a score measured on a random sample."""
    if total == 0:
        return 0.0, 1.0
    z, p = 1.96, killed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)

"""A load trace: total demand per metric over time, read from CSV or built by a scenario.

CSV: a header with ``time_s`` and one column per metric the HPA uses (other columns are
reported and not used), then one row per point in time, times increasing. A value holds from its row's time
until the next row: a sync at time ``t`` sees the last row at or before ``t``.
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from .hpa import SimulationError

TIME_COLUMN = "time_s"


@dataclass(frozen=True)
class Trace:
    """Rows at ``times`` (seconds, increasing); ``columns`` maps a metric to its totals, one per row."""

    times: tuple[float, ...]
    columns: Mapping[str, tuple[float, ...]]

    def __post_init__(self) -> None:
        if not self.times:
            raise SimulationError("the trace has no rows")
        if any(b <= a for a, b in pairwise(self.times)):
            raise SimulationError("the trace's time_s values must increase from row to row")
        for name, values in self.columns.items():
            if len(values) != len(self.times):
                raise SimulationError(f"trace column {name} has {len(values)} values for {len(self.times)} rows")
            if not all(math.isfinite(v) and v >= 0 for v in values):
                raise SimulationError(f"trace column {name} must hold finite, non-negative totals")

    @classmethod
    def from_points(cls, times: Iterable[float], columns: Mapping[str, Iterable[float]]) -> Trace:
        """Build a trace in code: ``Trace.from_points([0, 60], {"cpu": [200, 900]})``."""
        return cls(tuple(float(t) for t in times), {k: tuple(float(v) for v in vs) for k, vs in columns.items()})

    @property
    def end_s(self) -> float:
        return self.times[-1]

    def row_at(self, t: float) -> int:
        """Index of the last row at or before ``t``."""
        index = bisect_right(self.times, t) - 1
        if index < 0:
            raise SimulationError(f"the trace starts at time_s {self.times[0]:g}; it needs a row at or before {t:g}")
        return index

    def require(self, names: Iterable[str]) -> None:
        """Fail unless the trace has a column for each metric in ``names``."""
        require_columns(self.columns, names, "the trace")


def require_columns(have: Iterable[str], names: Iterable[str], source: str) -> None:
    columns = sorted(set(have) - {TIME_COLUMN})
    missing = [n for n in names if n not in columns]
    if missing:
        raise SimulationError(
            f"{source} has no {', '.join(missing)} column (the HPA's metrics need it; columns: "
            f"{', '.join(columns) or 'none'})"
        )


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SimulationError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SimulationError(f"{where}: {text!r} is not a finite number")
    return value


MAX_TRACE_ROWS = 500_000
"""Most rows a trace CSV may hold (about 6 days at one row a second); longer traces are refused
while reading, before they are held in memory."""


def read_trace_csv(path: Path, names: Sequence[str], warn: Callable[[str], None] | None = None) -> Trace:
    """The ``time_s`` column and the columns ``names`` of the CSV file at ``path``.

    A UTF-8 byte-order mark is ignored; a repeated column or a row with more values than the header
    is refused (which value counts would be a guess); ``warn`` hears of columns that are not used.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = []
            for row in csv.reader(handle):
                rows.append(row)
                if len(rows) > MAX_TRACE_ROWS + 1:
                    raise SimulationError(
                        f"trace {path} has more than {MAX_TRACE_ROWS:,} rows, the bound of a trace; "
                        "resample it to fewer points"
                    )
    except OSError as exc:
        raise SimulationError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SimulationError(f"trace {path} is not a UTF-8 CSV file: {exc}") from None
    if not rows:
        raise SimulationError(f"trace {path} is empty")
    header = [h.strip() for h in rows[0]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise SimulationError(f"trace {path} repeats the column {', '.join(repeated)} in its header")
    if TIME_COLUMN not in header:
        raise SimulationError(f"trace {path} has no {TIME_COLUMN} column (header: {','.join(header)})")
    require_columns(header, names, f"trace {path}")
    wanted = {name: header.index(name) for name in (TIME_COLUMN, *names)}
    unused = [h for h in header if h not in wanted]
    if unused and warn is not None:
        warn(f"trace {path}: column{'s' if len(unused) > 1 else ''} {', '.join(unused)} not used by the HPA's metrics")
    values: dict[str, list[float]] = {name: [] for name in wanted}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise SimulationError(f"trace {path} line {line}: {len(row)} values for {len(header)} columns")
        for name, index in wanted.items():
            value = _number(row[index].strip(), f"trace {path} line {line}, column {name}")
            if name != TIME_COLUMN and value < 0:
                raise SimulationError(f"trace {path} line {line}, column {name}: demand {value:g} is negative")
            values[name].append(value)
    times = values.pop(TIME_COLUMN)
    if not times:
        raise SimulationError(f"trace {path} has a header but no rows")
    return Trace(tuple(times), {name: tuple(v) for name, v in values.items()})

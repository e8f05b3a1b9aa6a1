"""Generic units shipped with the engine: a constant and a table (CSV) signal source.

Both are *time sources*: their outputs depend on time only, so the master steps them first
in every macro step (``steps_ahead``) and their outputs hold over ``[t, t + h]``. A table
source hands over, by default, the mean of its interpolated signal over the step, so that a
power trace delivers exactly its energy whatever the macro step.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from cosim import si
from cosim.unit import OUTPUT, Port, PythonUnit

LINEAR = "linear"
STEP = "step"
INTERPOLATIONS = (LINEAR, STEP)
MEAN = "mean"
START = "start"
SAMPLINGS = (MEAN, START)


class TimeSource(PythonUnit):
    """A unit whose outputs depend on time alone; stepped first, outputs hold over the step."""

    steps_ahead: ClassVar[bool] = True
    can_save_state: ClassVar[bool] = True
    direct_feedthrough: ClassVar[bool] = False

    def save_state(self) -> Any:
        return None

    def restore_state(self, state: Any) -> None:
        """Nothing to restore: the next ``do_step`` recomputes every output from time."""


def _check_name(name: str) -> None:
    if not name.isidentifier():
        raise ValueError(f"output name {name!r} must be an identifier (letters, digits, '_')")


def _quantity(name: str, spec: Any) -> tuple[float, str]:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"value", "unit"}
        if unknown or "value" not in spec:
            raise ValueError(
                f"{name}: expected a number or {{value: number, unit: symbol}} (got {dict(spec)!r})"
            )
        return float(spec["value"]), str(spec.get("unit", "1"))
    if isinstance(spec, bool) or not isinstance(spec, int | float):
        raise ValueError(f"{name}: expected a number or {{value: number, unit: symbol}} (got {spec!r})")
    return float(spec), "1"


class Constant(TimeSource):
    """Outputs that never change.

    Parameters
    ----------
    value : float, optional
        The value of the single output ``value`` (in ``unit``).
    unit : str
        Unit of ``value`` (default dimensionless).
    outputs : mapping, optional
        Instead of ``value``: several outputs, ``{name: number or {value, unit}}``.

    Examples
    --------
    >>> c = Constant(outputs={"P": {"value": 2.0, "unit": "kW"}, "n": 3})
    >>> [(p.name, p.unit) for p in c.ports()]
    [('P', 'kW'), ('n', '1')]
    """

    #: Outputs never change after set-up: the master reads them once and never steps the unit.
    static: ClassVar[bool] = True

    def __init__(self, value: float | None = None, unit: str = "1", outputs: Mapping[str, Any] | None = None):
        if (value is None) == (outputs is None):
            raise ValueError("give either 'value' (with 'unit') or 'outputs', not both")
        items = {"value": {"value": value, "unit": unit}} if outputs is None else dict(outputs)
        self._values: dict[str, float] = {}
        ports = []
        for name, spec in items.items():
            _check_name(name)
            v, u = _quantity(name, spec)
            si.parse(u)
            self._values[name] = v
            ports.append(Port(name, OUTPUT, u, f"constant {v:g} {u}", start=v))
        self._ports = tuple(ports)
        super().__init__()

    def ports(self) -> Sequence[Port]:
        return self._ports

    def setup(self, start_time: float) -> None:
        for name, v in self._values.items():
            setattr(self, name, v)

    def do_step(self, t: float, h: float) -> None:
        """Nothing changes."""


class _Column:
    """One interpolated column with its running integral, for exact means over any interval."""

    __slots__ = ("x", "y", "F", "slope", "step", "period", "total", "x0", "cursor", "last")

    def __init__(self, x: list[float], y: list[float], interpolation: str, period: float | None):
        self.x, self.y, self.step, self.period = x, y, interpolation == STEP, period
        self.x0 = x[0]
        n = len(x)
        self.slope = [
            0.0 if self.step or i == n - 1 else (y[i + 1] - y[i]) / (x[i + 1] - x[i]) for i in range(n)
        ]
        F = [0.0]
        for i in range(n - 1):
            d = x[i + 1] - x[i]
            F.append(F[-1] + (y[i] * d if self.step else 0.5 * (y[i] + y[i + 1]) * d))
        self.F = F
        self.total = F[-1]
        self.cursor = 0
        self.last = n - 1

    def mean(self, a: float, b: float) -> float:
        """Average of the interpolated signal over ``[a, b]`` (``b > a``) [s]."""
        x = self.x
        ta = a
        if self.period is not None:
            ta = self.x0 + (a - self.x0) % self.period
        tb = ta + (b - a)
        i = self.cursor
        # Consecutive steps mostly stay in one table interval: no search, no integrals.
        if not (i < self.last and x[i] <= ta < x[i + 1]):
            if x[0] <= ta < x[-1]:
                i = bisect.bisect_right(x, ta) - 1
                self.cursor = i
            else:
                i = -1
        if i >= 0 and tb <= x[i + 1]:
            y = self.y[i]
            if self.step:
                return y
            return y + self.slope[i] * (0.5 * (ta + tb) - x[i])
        return (self.value_and_integral(b)[1] - self.value_and_integral(a)[1]) / (b - a)

    def _local(self, t: float, i: int) -> tuple[float, float]:
        """(value, integral from x0) at ``t`` inside ``[x0, x_last]`` given ``x[i] <= t``."""
        d = t - self.x[i]
        s = self.slope[i]
        return self.y[i] + s * d, self.F[i] + self.y[i] * d + 0.5 * s * d * d

    def value_and_integral(self, t: float) -> tuple[float, float]:
        x = self.x
        base = 0.0
        if self.period is not None:
            n, t_in = divmod(t - self.x0, self.period)
            base, t = n * self.total, self.x0 + t_in
        if t <= x[0]:
            return self.y[0], base + self.y[0] * (t - x[0])
        if t >= x[-1]:
            # Hold the last value beyond the table.
            return self.y[-1], base + self.F[-1] + self.y[-1] * (t - x[-1])
        i = bisect.bisect_right(x, t) - 1
        v, integral = self._local(t, i)
        return v, base + integral


class TableSource(TimeSource):
    """A signal source that plays columns of a table (CSV file or inline data) against time.

    Parameters
    ----------
    outputs : mapping
        Output name -> ``{column: name, unit: symbol, description: text}`` (``column`` defaults to
        the output name, ``unit`` to dimensionless).
    file : str or Path, optional
        CSV file with a header row (UTF-8, a byte-order mark is ignored). Relative paths are
        resolved against the scenario file.
    data : mapping, optional
        Instead of ``file``: columns as lists, ``{t: [...], P: [...]}``.
    time : mapping
        ``{column: name, unit: symbol}`` of the time column (default: the first column, in s).
    interpolation : str
        ``"linear"`` or ``"step"`` (the value at a row holds until the next row).
    sample : str
        ``"mean"`` (default): each macro step gets the average of the interpolated signal over
        the step, so integrals (energy, charge) are exact. ``"start"``: the value at the step's start.
    repeat : bool
        Play the table periodically (period = last time - first time); otherwise the first and
        last values hold outside the table.
    """

    path_settings: ClassVar[tuple[str, ...]] = ("file",)

    def __init__(
        self,
        outputs: Mapping[str, Any],
        file: str | Path | None = None,
        data: Mapping[str, Sequence[float]] | None = None,
        time: Mapping[str, str] | None = None,
        interpolation: str = LINEAR,
        sample: str = MEAN,
        repeat: bool = False,
    ):
        if (file is None) == (data is None):
            raise ValueError("give either 'file' or 'data'")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS} (got {interpolation!r})")
        if sample not in SAMPLINGS:
            raise ValueError(f"sample must be one of {SAMPLINGS} (got {sample!r})")
        columns = (
            _read_csv(Path(file))
            if file is not None
            else {k: [float(v) for v in vs] for k, vs in data.items()}
        )
        where = f"table {file}" if file is not None else "table data"
        time = dict(time or {})
        t_name = time.get("column", next(iter(columns)))
        if t_name not in columns:
            raise ValueError(f"{where}: no time column {t_name!r}; columns: {', '.join(columns)}")
        t_gain, t_off = si.conversion(time.get("unit", "s"), "s")
        x = [t_gain * v + t_off for v in columns[t_name]]
        if len(x) < 1 or any(b <= a for a, b in zip(x, x[1:])):
            raise ValueError(f"{where}: time column {t_name!r} must be strictly increasing")
        period = (x[-1] - x[0]) if repeat else None
        if repeat and not period:
            raise ValueError(f"{where}: 'repeat' needs at least two rows")
        self.sample = sample
        self._columns: list[_Column] = []
        ports = []
        for name, spec in outputs.items():
            _check_name(name)
            spec = dict(spec or {})
            col = spec.get("column", name)
            if col not in columns:
                raise ValueError(
                    f"{where}: output {name!r} reads column {col!r}, which is not there; "
                    f"columns: {', '.join(columns)}"
                )
            unit = spec.get("unit", "1")
            si.parse(unit)
            y = columns[col]
            if len(y) != len(x) or not all(math.isfinite(v) for v in y):
                raise ValueError(f"{where}: column {col!r} must have one finite number per row")
            self._columns.append(_Column(x, y, interpolation, period))
            ports.append(
                Port(name, OUTPUT, unit, spec.get("description", f"column {col!r} of the table"), start=y[0])
            )
        if not ports:
            raise ValueError(f"{where}: 'outputs' names no column to play")
        self._ports = tuple(ports)
        self._names = [p.name for p in ports]
        self._named = list(zip(self._names, self._columns))
        super().__init__()

    def ports(self) -> Sequence[Port]:
        return self._ports

    def _at(self, t: float) -> list[tuple[float, float]]:
        return [c.value_and_integral(t) for c in self._columns]

    def setup(self, start_time: float) -> None:
        for name, (v, _) in zip(self._names, self._at(start_time)):
            setattr(self, name, v)

    def do_step(self, t: float, h: float) -> None:
        if self.sample == START:
            for name, (v, _) in zip(self._names, self._at(t)):
                setattr(self, name, v)
            return
        for name, column in self._named:
            setattr(self, name, column.mean(t, t + h))


#: Tables already read in this process, by (path, modification time, size): a fleet's workers build one
#: scenario after another on the same climate files.
_READ: dict[tuple, dict[str, tuple[float, ...]]] = {}
_READ_KEPT = 32


def _read_csv(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        raise FileNotFoundError(f"table file {str(path)!r} does not exist")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _READ:
        if len(_READ) >= _READ_KEPT:
            _READ.clear()
        _READ[key] = {h: tuple(values) for h, values in _parse_csv(path).items()}
    return {h: list(values) for h, values in _READ[key].items()}


def _parse_csv(path: Path) -> dict[str, list[float]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"table {path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    cols: dict[str, list[float]] = {h: [] for h in header if h}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        for h, cell in zip(header, row):
            if h:
                try:
                    cols[h].append(float(cell))
                except ValueError:
                    raise ValueError(f"table {path}:{n}: column {h!r}: {cell!r} is not a number") from None
    return cols

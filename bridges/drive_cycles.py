"""Drive cycles: the speed traces shipped as package data, user traces from CSV, and named mixes.

A :class:`DriveCycle` is a speed trace sampled at 1 Hz from t = 0 (SI: s, m/s, grade as rise/run).
Between samples the speed is linear in time, so the acceleration is constant over each second; the
vehicle model relies on that to make a 1 s step exact.

Names accepted wherever a cycle is asked for (``cycle:`` in a scenario, ``evtwin drive VEHICLE CYCLE``):

- a shipped cycle: ``udds``, ``hwfet``, ``us06``, ``wltc_3b`` (alias ``wltc``), ``wltc_3a``, ``nedc``,
  and the WLTC 3b phases ``wltc_low``, ``wltc_medium``, ``wltc_high``, ``wltc_extra_high``;
- a named mix (a sequence of cycles driven one after the other, trip by trip): see :data:`MIXES`;
- a path to a CSV file with a time column and a speed column (see :func:`read_csv_cycle`).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from cosim.errors import ScenarioError
from cosim.textfile import TextFileError, read_text

_DATA = files("bridges") / "data" / "drive_cycles"

#: Shipped cycles: name -> (file, description).
SHIPPED = {
    "udds": ("udds.csv", "EPA Urban Dynamometer Driving Schedule (city, 1369 s)"),
    "hwfet": ("hwfet.csv", "EPA Highway Fuel Economy Test (765 s)"),
    "us06": ("us06.csv", "EPA US06 supplemental schedule (aggressive, 600 s)"),
    "wltc_3b": ("wltc_3b.csv", "WLTC class 3b (WLTP, v_max >= 120 km/h, 1800 s)"),
    "wltc_3a": ("wltc_3a.csv", "WLTC class 3a (1800 s)"),
    "nedc": ("nedc.csv", "New European Driving Cycle (1180 s)"),
}

#: WLTC 3b phases as [start, end] seconds of ``wltc_3b`` (UN GTR No. 15 phase limits; v = 0 at both ends).
WLTC_PHASES = {
    "wltc_low": (0, 589),
    "wltc_medium": (589, 1022),
    "wltc_high": (1022, 1477),
    "wltc_extra_high": (1477, 1800),
}

ALIASES = {"wltc": "wltc_3b", "wltp": "wltc_3b", "ftp72": "udds", "la4": "udds", "hwy": "hwfet"}

#: Named mixes: trips cycle through these in order (one cycle per trip).
MIXES = {
    "city": ("udds", "wltc_low", "udds", "wltc_medium"),
    "highway": ("hwfet", "wltc_high", "hwfet", "wltc_extra_high"),
    "aggressive": ("us06",),
    "commute": ("udds", "hwfet"),
}

#: Column names accepted in user CSV files, with the factor to m/s or s.
_TIME_COLUMNS = {"cycsecs": 1.0, "time_s": 1.0, "t_s": 1.0, "time": 1.0, "t": 1.0, "time_min": 60.0}
_SPEED_COLUMNS = {
    "cycmps": 1.0,
    "speed_mps": 1.0,
    "speed_m/s": 1.0,
    "v_mps": 1.0,
    "speed": 1.0,
    "speed_kph": 1 / 3.6,
    "speed_kmh": 1 / 3.6,
    "speed_km/h": 1 / 3.6,
    "v_kph": 1 / 3.6,
    "speed_mph": 0.44704,
    "v_mph": 0.44704,
}
_GRADE_COLUMNS = {"cycgrade": 1.0, "grade": 1.0, "grade_percent": 0.01, "grade_pct": 0.01}


@dataclass(frozen=True, eq=False)
class DriveCycle:
    """A speed trace at 1 Hz from t = 0.

    Attributes
    ----------
    name : str
        Short name (``udds``) or the file stem of a user trace.
    speed : numpy.ndarray
        Speed at t = 0, 1, 2, ... [m/s].
    grade : numpy.ndarray
        Road grade at the same instants, rise/run [-]; constant over each second (value at its start).
    source : str
        Where the trace comes from.
    """

    name: str
    speed: np.ndarray
    grade: np.ndarray
    source: str = ""

    @property
    def duration(self) -> float:
        """Length of the trace [s]."""
        return float(len(self.speed) - 1)

    @property
    def distance(self) -> float:
        """Distance covered, trapezoidal over the 1 s steps (exact for piecewise-linear speed) [m]."""
        v = self.speed
        return float(0.5 * np.sum(v[1:] + v[:-1]))

    @property
    def max_speed(self) -> float:
        """Highest speed [m/s]."""
        return float(np.max(self.speed))

    def slice(self, start: int, end: int, name: str) -> DriveCycle:
        """The part from ``start`` to ``end`` [s] (inclusive), as a new cycle starting at t = 0."""
        return DriveCycle(
            name,
            self.speed[start : end + 1].copy(),
            self.grade[start : end + 1].copy(),
            f"{self.source}, seconds {start}-{end}",
        )


def _column(header: list[str], choices: dict[str, float], what: str, path: Path, required: bool = True):
    lowered = [h.strip().lower() for h in header]
    for i, h in enumerate(lowered):
        if h in choices:
            return i, choices[h]
    if not required:
        return None, 1.0
    known = ", ".join(sorted(choices))
    raise ScenarioError(f"{path}: line 1: no {what} column in header {header!r}; expected one of: {known}")


def read_csv_cycle(path: str | Path, name: str | None = None) -> DriveCycle:
    """Read a user speed trace from a CSV file.

    The header names a time column (``time_s``, ``t_s``, ``time``, ``cycSecs`` or ``time_min``) and a
    speed column whose name carries its unit (``speed_mps``, ``speed_kph``/``speed_kmh``, ``speed_mph``,
    or FASTSim's ``cycMps``); an optional ``grade`` (rise/run) or ``grade_percent`` column gives the road
    grade. Time must start at 0 and increase; a trace not on a 1 s grid is resampled linearly to 1 Hz.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    name : str, optional
        Name of the cycle; the file stem by default.

    Raises
    ------
    ScenarioError
        Naming the file and line of the first problem.
    """
    path = Path(path)
    try:
        text = read_text(path, "drive cycle CSV file (a time and a speed column)")
    except TextFileError as err:
        raise ScenarioError(str(err)) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 3:
        raise ScenarioError(
            f"{path}: a drive cycle needs a header and at least two samples (got {len(rows)} lines)"
        )
    header = rows[0]
    it, ft = _column(header, _TIME_COLUMNS, "time", path)
    iv, fv = _column(header, _SPEED_COLUMNS, "speed", path)
    ig, fg = _column(header, _GRADE_COLUMNS, "grade", path, required=False)
    t, v, g = [], [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            t.append(float(row[it]) * ft)
            v.append(float(row[iv]) * fv)
            g.append(float(row[ig]) * fg if ig is not None else 0.0)
        except (ValueError, IndexError):
            raise ScenarioError(
                f"{path}: line {lineno}: expected numbers in columns {header[it]!r} and "
                f"{header[iv]!r}, got {row!r}"
            ) from None
        if not (math.isfinite(t[-1]) and math.isfinite(v[-1]) and math.isfinite(g[-1])):
            raise ScenarioError(f"{path}: line {lineno}: values must be finite, got {row!r}")
        if v[-1] < 0:
            raise ScenarioError(f"{path}: line {lineno}: speed must be >= 0 (got {v[-1]:g} m/s)")
        if len(t) > 1 and t[-1] <= t[-2]:
            raise ScenarioError(
                f"{path}: line {lineno}: time must increase (got {t[-1]:g} s after {t[-2]:g} s)"
            )
    if t[0] != 0.0:
        raise ScenarioError(f"{path}: line 2: time must start at 0 s (got {t[0]:g} s)")
    ta, va, ga = np.array(t), np.array(v), np.array(g)
    grid = np.arange(0.0, math.floor(ta[-1]) + 1.0)
    if len(ta) != len(grid) or not np.array_equal(ta, grid):
        va = np.interp(grid, ta, va)
        ga = np.interp(grid, ta, ga)
        source = f"{path} (resampled to 1 Hz)"
    else:
        source = str(path)
    return DriveCycle(name or path.stem, va, ga, source)


@lru_cache(maxsize=None)
def _shipped(name: str) -> DriveCycle:
    filename, description = SHIPPED[name]
    with (_DATA / filename).open("r", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    body = [r for r in rows[1:] if r]
    t = np.array([float(r[0]) for r in body])
    if not np.array_equal(t, np.arange(len(t), dtype=float)):
        raise AssertionError(f"package data {filename} is not on a 1 s grid from 0")  # corrupted install
    speed = np.array([float(r[1]) for r in body])
    grade = np.array([float(r[2]) for r in body])
    speed.flags.writeable = False
    grade.flags.writeable = False
    return DriveCycle(name, speed, grade, f"{description}; bridges/data/drive_cycles/{filename}")


def cycle_names() -> list[str]:
    """Every cycle and mix name accepted by :func:`resolve`."""
    return sorted(set(SHIPPED) | set(WLTC_PHASES) | set(ALIASES) | set(MIXES))


def load_cycle(name: str) -> DriveCycle:
    """One cycle by shipped name, WLTC phase name, alias, or CSV path.

    Raises
    ------
    ScenarioError
        For an unknown name, with the closest matches.
    """
    key = ALIASES.get(name.lower(), name.lower())
    if key in SHIPPED:
        return _shipped(key)
    if key in WLTC_PHASES:
        start, end = WLTC_PHASES[key]
        return _shipped("wltc_3b").slice(start, end, key)
    if name.lower().endswith(".csv") or Path(name).exists():
        return read_csv_cycle(name)
    raise ScenarioError(_unknown(name))


def _unknown(name: str) -> str:
    options = cycle_names()
    close = difflib.get_close_matches(name.lower(), options, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"unknown drive cycle {name!r}{hint} Known cycles and mixes: {', '.join(options)}; "
        "or give the path of a CSV file with time and speed columns"
    )


def resolve(spec: str) -> tuple[DriveCycle, ...]:
    """The cycles a ``cycle`` setting stands for: one cycle, or every cycle of a named mix, in order."""
    key = spec.lower()
    if key in MIXES:
        return tuple(load_cycle(n) for n in MIXES[key])
    return (load_cycle(spec),)

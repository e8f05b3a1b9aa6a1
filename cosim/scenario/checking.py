"""What the scenario checks share: the resolved unit, the summary row, and the list of problems found.

Every check appends to one :class:`Findings`, so a user sees every problem of a file at once;
units that could not be resolved are remembered so that no follow-on problem is reported about them.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cosim.scenario.model import ScenarioModel
from cosim.scenario.source import Located
from cosim.unit import Port

SCHEDULE = "schedule"
"""The name of the unit that the usage schedule becomes."""


@dataclass
class UnitPlan:
    """A unit, resolved: how to make it, its ports, and its converted parameters."""

    name: str
    kind: str  # "fmu", "type" or "schedule"
    ports: dict[str, Port]
    make: Callable[[], Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    every: int | dict[str, int] = 1
    can_save_state: bool = False
    direct_feedthrough: bool = True
    steps_ahead: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    can_vary_step: bool = True
    description: Any = None  # an FMU's FMUDescription
    unsupported: dict[str, str] = field(default_factory=dict)  # variables evtwin cannot carry: why
    shared_values: dict[str, Any] = field(default_factory=dict)  # what the unit states for others
    shared_parameters: dict[str, str] = field(default_factory=dict)  # parameter -> shared name it takes


@dataclass(frozen=True)
class SummaryRow:
    """A summary row: ``reduce`` of ``signal`` shown in ``unit`` (``gain``, ``offset``: from the port's)."""

    label: str
    signal: str
    reduce: str
    unit: str
    gain: float
    offset: float


class Findings:
    """The file being checked, its parsed model, and the problems and warnings found so far."""

    def __init__(self, source: Located, model: ScenarioModel, say: Callable[[str], None]):
        self.src, self.m, self.say = source, model, say
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.base = source.path.parent
        self.failed: set[str] = set()  # units that could not be resolved: no follow-on problems about them
        self.units_seen: dict[str, UnitPlan] = {}  # the resolved units, once they are
        self.macro_step: float = model.algorithm.step or 1.0  # without a schedule; FMUs' default if unset

    def bad(self, where, message: str) -> None:
        """A problem that stops the run: ``file:line key: message``."""
        self.problems.append(self.src.problem(where, message))

    def warn(self, where, message: str) -> None:
        """Something that runs but is likely not what the user meant."""
        self.warnings.append(self.src.problem(where, message))


def suggest(name: str, known: list[str], n: int = 3, cutoff: float = 0.6) -> str:
    """``; did you mean 'a' or 'b'?`` for the names of ``known`` close to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, known, n=n, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


INT32 = (-(2**31), 2**31 - 1)
"""The range of an FMI Integer."""


def out_of_range(port: Port, value: float) -> str | None:
    """Why ``value`` (in the port's unit) cannot be given to ``port``, or None when it can."""
    unit = "" if port.unit in ("", "1") else f" {port.unit}"
    if not math.isfinite(value):
        return f"expected a finite number{unit}"
    lo, hi = port.min, port.max
    if port.type == "Integer":
        if not float(value).is_integer():
            return "expected a whole number"
        lo = INT32[0] if lo is None else max(lo, INT32[0])
        hi = INT32[1] if hi is None else min(hi, INT32[1])
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        shown = (
            f"[{'-inf' if lo is None else format(lo, 'g')}, {'inf' if hi is None else format(hi, 'g')}]{unit}"
        )
        return f"outside {port.name}'s declared range {shown}"
    return None

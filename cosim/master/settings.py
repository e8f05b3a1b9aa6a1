"""What the master is told: the coupling method, the loop solver, events to land on, checks to make."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cosim.errors import EvtwinError

GAUSS_SEIDEL = "gauss_seidel"
JACOBI = "jacobi"
METHODS = (GAUSS_SEIDEL, JACOBI)

#: The environment variable that picks the loop a master steps segments with, when its caller does not.
ENGINE_VARIABLE = "EVTWIN_ENGINE"
#: Its values: the C core where every unit allows it (the default), the generated Python loop, the interpreter.
ENGINES = {"c": (True, True), "python": (True, False), "interpreter": (False, False)}


def default_engine() -> tuple[bool, bool]:
    """``(compile, native)`` from ``$EVTWIN_ENGINE`` (``c``, ``python`` or ``interpreter``; ``c`` when unset).

    Every engine gives the same values bit for bit; the variable is there to compare them, to debug an FMU
    without the C core between it and Python, or to profile the Python loop.

    Raises
    ------
    EvtwinError
        For any other value, naming the variable and the values it takes.
    """
    name = os.environ.get(ENGINE_VARIABLE, "").strip().lower() or "c"
    if name not in ENGINES:
        raise EvtwinError(f"{ENGINE_VARIABLE}={name!r}: use one of {', '.join(ENGINES)}")
    return ENGINES[name]


def engine(compile: bool | None, native: bool | None) -> tuple[bool, bool]:
    """``(compile, native)`` as a master was asked, each ``None`` taken from :func:`default_engine`
    (native only where compiled)."""
    if compile is not None and native is not None:
        return compile, native
    default_compile, default_native = default_engine()
    compile = default_compile if compile is None else compile
    return compile, (default_native and compile if native is None else native)


@dataclass(frozen=True, slots=True)
class LoopSolver:
    """How to resolve an algebraic loop within a macro step.

    Parameters
    ----------
    solver : str
        ``"fixedpoint"``: repeat the loop's steps from saved states until the loop's
        outputs agree with the values they were computed from.
    max_iterations : int
        Iterations before the run fails.
    tolerance : float
        Convergence when ``|new - old| <= tolerance * max(1, |new|)`` for every loop signal.
    """

    solver: str = "fixedpoint"
    max_iterations: int = 20
    tolerance: float = 1e-9


@dataclass(frozen=True, slots=True)
class Event:
    """A threshold crossing of a signal that the master lands on.

    Parameters
    ----------
    name : str
        Name written to the results.
    signal : str
        ``"unit.output"`` to watch.
    above, below : float or None
        Threshold in the signal's unit; exactly one is given. ``above`` fires when the signal
        rises to or through it, ``below`` when it falls to or through it.
    stop : bool
        End the run at the event.
    """

    name: str
    signal: str
    above: float | None = None
    below: float | None = None
    stop: bool = False

    def __post_init__(self) -> None:
        if (self.above is None) == (self.below is None):
            raise ValueError(f"event {self.name!r}: give exactly one of 'above' and 'below'")


@dataclass(frozen=True, slots=True)
class MasterSettings:
    """Algorithm options.

    Parameters
    ----------
    method : str
        ``"gauss_seidel"`` or ``"jacobi"``.
    loop : LoopSolver or None
        Resolve algebraic loops by iteration; ``None`` makes a loop an error.
    event_tolerance : float
        Width [s] of the time bracket within which an event is located.
    check_bounds : bool
        Check outputs against their ports' min/max after each step.
    """

    method: str = GAUSS_SEIDEL
    loop: LoopSolver | None = None
    event_tolerance: float = 1e-3
    check_bounds: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS} (got {self.method!r})")
        if not self.event_tolerance > 0:
            raise ValueError(f"event_tolerance must be > 0 s (got {self.event_tolerance!r})")

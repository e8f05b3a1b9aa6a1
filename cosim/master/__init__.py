"""The master algorithm: steps connected units over a timeline of macro steps.

- :mod:`cosim.master.settings`: the coupling method, the loop solver, events, checks.
- :mod:`cosim.master.wiring`: the wiring checks (shared with the scenario validator), execution
  order, algebraic loops.
- :mod:`cosim.master.slots`: each unit's bound inputs, outputs and bounds; the blocks a step walks.
- :mod:`cosim.master.stepping`: :class:`Master`, the macro step (interpreted) and the run.
- :mod:`cosim.master.compiled`: the same macro step as generated straight-line code.
- :mod:`cosim.master.events`: event detection, rollback and location.
- :mod:`cosim.master.observer`: observers and run statistics.
"""

from cosim.master.observer import Observer, RunStats
from cosim.master.settings import GAUSS_SEIDEL, JACOBI, METHODS, Event, LoopSolver, MasterSettings
from cosim.master.stepping import Master

__all__ = [
    "GAUSS_SEIDEL",
    "JACOBI",
    "METHODS",
    "Event",
    "LoopSolver",
    "Master",
    "MasterSettings",
    "Observer",
    "RunStats",
]

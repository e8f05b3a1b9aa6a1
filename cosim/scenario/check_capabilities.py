"""What the scenario asks of its units that they cannot do: the warnings a run would print, found before it.

A fixed-step FMU given several step sizes, events on a run whose units cannot roll back, and an
algebraic loop to iterate with units that cannot save their state. The messages are
:mod:`cosim.run_warnings`', the same the run prints.
"""

from __future__ import annotations

from cosim import graph, run_warnings
from cosim.connection import Connection
from cosim.master import Event, wiring
from cosim.scenario.checking import Findings, UnitPlan
from cosim.schedule import Schedule


def check_capabilities(
    f: Findings,
    units: dict[str, UnitPlan],
    conns: list[Connection],
    schedule: Schedule | None,
    events: list[Event],
) -> None:
    """Add a warning for each capability a unit lacks that the scenario relies on."""
    _fixed_step(f, units, schedule)
    cannot = [n for n, up in units.items() if not up.can_save_state]
    if events and cannot:
        f.warn(("events",), run_warnings.events_not_located([e.name for e in events], cannot))
    _loops(f, units, conns)


def _fixed_step(f: Findings, units: dict[str, UnitPlan], schedule: Schedule | None) -> None:
    phases = dict(schedule.steps) if schedule is not None else {"": f.macro_step}
    for name, up in units.items():
        if up.can_vary_step:
            continue
        every = up.every
        steps = {h * (every if isinstance(every, int) else every.get(p, 1)) for p, h in phases.items()}
        if len(steps) > 1:
            f.warn(("units", name), run_warnings.fixed_step(name, steps))


def _loops(f: Findings, units: dict[str, UnitPlan], conns: list[Connection]) -> None:
    if f.m.algorithm.method == "jacobi" or f.m.algorithm.loop is None:
        return
    edges = wiring.feedthrough_edges(units, conns)
    for loop in wiring.algebraic_loops(list(units), edges):
        cannot = [n for n in loop if not units[n].can_save_state]
        if cannot:
            f.warn(
                ("algorithm", "loop"),
                run_warnings.loop_not_iterated(graph.describe_cycle(loop, edges), cannot),
            )

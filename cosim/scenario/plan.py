"""Everything that can be checked before a run: the scenario turned into a plan, or every problem found.

Checking resolves unit files and types (:mod:`~cosim.scenario.check_units`), reads FMU descriptions
without instantiating them, builds the schedule (:mod:`~cosim.scenario.check_schedule`), converts
quantities to the ports' units, checks connections (ports, causality, types, units) and algebraic
loops (here), output globs, events, summary rows and plots (:mod:`~cosim.scenario.check_outputs`),
and what the run will cost (:mod:`~cosim.scenario.check_time`). Each problem names the file, the
line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cosim import graph, si
from cosim.connection import Connection, check_ends, coefficients
from cosim.errors import ScenarioError
from cosim.master import Event, LoopSolver, MasterSettings
from cosim.results import OutputGroup
from cosim.scenario import check_outputs, check_time
from cosim.scenario.check_capabilities import check_capabilities
from cosim.scenario.check_schedule import build_schedule, check_rates
from cosim.scenario.check_units import resolve_units
from cosim.scenario.checking import SCHEDULE, Findings, SummaryRow, UnitPlan
from cosim.scenario.model import ScenarioModel
from cosim.scenario.source import Located, dotted
from cosim.schedule import Schedule, ScheduleUnit


@dataclass
class Plan:
    """A checked scenario, ready to build."""

    source: Located
    model: ScenarioModel
    units: dict[str, UnitPlan]
    connections: list[Connection]
    settings: MasterSettings
    schedule: Schedule | None
    start: float
    duration: float
    step: float
    events: list[Event]
    groups: list[OutputGroup]
    summary: list[SummaryRow]
    plots: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    @property
    def observed(self) -> list[str]:
        """Every signal an observer reads (recorded or summarised)."""
        seen = dict.fromkeys(s for g in self.groups for s in g.signals)
        seen.update(dict.fromkeys(r.signal for r in self.summary))
        return list(seen)


class _Checker(Findings):
    """The connection checks (the other checks are in the ``check_*`` modules)."""

    def connections(self, units: dict[str, UnitPlan]) -> list[Connection]:
        out = []
        fed: dict[str, int] = {}
        for k, spec in enumerate(self.m.connections):
            where = ("connections", k)
            conn = Connection(spec.source, spec.to, spec.gain, spec.offset, spec.transfer, spec.delay)
            ok = True
            for end, key in ((conn.source_unit, "from"), (conn.target_unit, "to")):
                if end not in units:
                    if end not in self.failed:
                        self.bad((*where, key), f"no unit named {end!r}; units: {', '.join(units)}")
                    ok = False
            if not ok:
                continue
            src_ports, dst_ports = units[conn.source_unit].ports, units[conn.target_unit].ports
            src, dst = src_ports.get(conn.source_port), dst_ports.get(conn.target_port)
            problems = check_ends(conn, src, dst, list(src_ports), list(dst_ports))
            for p in problems:
                self.bad((*where, "from" if p.startswith(repr(conn.source)) else "to"), p)
            if problems:
                continue
            try:
                coefficients(conn, src, dst)
            except si.UnitError as err:
                self.bad(where, str(err))
                continue
            if conn.target in fed:
                self.bad(
                    (*where, "to"),
                    f"{conn.target!r} is already fed by connections[{fed[conn.target]}]; "
                    "an input takes one connection",
                )
                continue
            fed[conn.target] = k
            out.append(conn)
        return out

    def loops(self, units: dict[str, UnitPlan], conns: list[Connection]) -> None:
        if self.m.algorithm.method == "jacobi" or self.m.algorithm.loop is not None:
            return
        names = list(units)
        edges = [
            (c.source_unit, c.target_unit)
            for c in conns
            if c.delay == 0 and units[c.source_unit].direct_feedthrough
        ]
        for comp in graph.strongly_connected(names, edges):
            if graph.is_loop(comp, edges):
                k = next(
                    i
                    for i, c in enumerate(self.m.connections)
                    if c.source.split(".")[0] in comp and c.to.split(".")[0] in comp
                )
                self.bad(
                    ("connections", k),
                    f"algebraic loop {graph.describe_cycle(comp, edges)}: each unit's outputs depend on its "
                    "inputs within the same macro step; add 'delay: 1' to one of its connections, or set "
                    "algorithm.loop: {solver: fixedpoint} to iterate",
                )


def make_plan(
    source: Located,
    model: ScenarioModel,
    say: Callable[[str], None] = lambda s: None,
    duration: float | None = None,
    force: bool = False,
) -> Plan:
    """Check a parsed scenario; the plan, or a :class:`ScenarioError` listing every problem.

    ``duration`` [s] replaces the scenario's in the cost estimate (as ``evtwin run --duration``
    does); ``force`` lets a run over :data:`~cosim.scenario.check_time.MAX_STEPS` through.
    Warnings (a long run, units that cannot do what the scenario asks) are in ``Plan.notes``.
    """
    c = _Checker(source, model, say)
    units = resolve_units(c)
    schedule = build_schedule(c)
    if schedule is not None:
        units[SCHEDULE] = _schedule_plan(schedule)
    check_rates(c, units, schedule)
    conns = c.connections(units)
    c.loops(units, conns)
    available = check_outputs.recordable(units, conns)
    events = check_outputs.events(c, units)
    groups = check_outputs.groups(c, available)
    summary = check_outputs.summary(c, units, available)
    recorded = [s for g in groups for s in g.signals]
    plots = check_outputs.plots(c, units, recorded)
    check_capabilities(c, units, conns, schedule, events)
    span = model.experiment.duration if duration is None else duration
    check_time.check_cost(c, units, schedule, groups, span, force)
    alg = model.algorithm
    if c.problems:
        raise ScenarioError(c.problems)
    settings = MasterSettings(
        alg.method,
        LoopSolver(alg.loop.solver, alg.loop.max_iterations, alg.loop.tolerance) if alg.loop else None,
        alg.event_tolerance,
        alg.check_bounds,
    )
    return Plan(
        source,
        model,
        units,
        conns,
        settings,
        schedule,
        model.experiment.start,
        model.experiment.duration,
        alg.step,
        events,
        groups,
        summary,
        plots,
        notes=c.warnings,
    )


def _schedule_plan(schedule: Schedule) -> UnitPlan:
    probe = ScheduleUnit(schedule)
    return UnitPlan(
        SCHEDULE,
        "schedule",
        {p.name: p for p in probe.ports()},
        lambda s=schedule: ScheduleUnit(s),
        can_save_state=True,
        direct_feedthrough=False,
        facts={"type": "schedule"},
    )


__all__ = ["Plan", "UnitPlan", "SummaryRow", "make_plan", "dotted"]

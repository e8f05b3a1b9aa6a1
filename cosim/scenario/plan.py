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

from cosim.connection import Connection
from cosim.errors import ScenarioError
from cosim.master import Event, LoopSolver, MasterSettings, wiring
from cosim.results import OutputGroup
from cosim.scenario import check_outputs, check_time, fmu_checks
from cosim.scenario.check_capabilities import check_capabilities
from cosim.scenario.check_schedule import build_schedule, check_rates
from cosim.scenario.check_units import resolve_units
from cosim.scenario.checking import SCHEDULE, Findings, SummaryRow, UnitPlan
from cosim.scenario.model import ScenarioModel
from cosim.scenario.shared_values import bind_shared_values
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
    #: Stream outputs: (kind class, settings, signals read) (:func:`check_outputs.streams`).
    streams: list[tuple[Any, dict[str, Any], list[str]]] = field(default_factory=list)

    @property
    def observed(self) -> list[str]:
        """Every signal an observer reads (recorded, summarised or streamed)."""
        seen = dict.fromkeys(s for g in self.groups for s in g.signals)
        seen.update(dict.fromkeys(r.signal for r in self.summary))
        seen.update(dict.fromkeys(s for _, _, signals in self.streams for s in signals))
        return list(seen)


class _Checker(Findings):
    """The connection checks (the other checks are in the ``check_*`` modules)."""

    def connections(self, units: dict[str, UnitPlan]) -> list[Connection]:
        conns = [
            Connection(spec.source, spec.to, spec.gain, spec.offset, spec.transfer, spec.delay)
            for spec in self.m.connections
        ]
        ports = {name: plan.ports for name, plan in units.items()}
        # Ends naming what evtwin cannot carry (String, Binary, arrays) get the reason, not "no port".
        bad = {k for k, c in enumerate(conns) if fmu_checks.uncarried(self, units, c, ("connections", k))}
        for p in wiring.connection_problems(conns, units, ports, skip=self.failed):
            k = p.index
            if k in bad:  # already told why
                continue
            key = {wiring.SOURCE: ("from",), wiring.TARGET: ("to",)}.get(p.end, ())
            hint = fmu_checks.unitless_hint(units, conns[k]) if "cannot feed" in p.message else ""
            self.bad(("connections", k, *key), p.message + hint)
            bad.add(k)
        # A connection to a unit that failed to resolve has no problem of its own, and no place either.
        good = [
            (k, c)
            for k, c in enumerate(conns)
            if k not in bad and c.source_unit in units and c.target_unit in units
        ]
        bad |= fmu_checks.integer_ranges(self, units, good)
        return [c for k, c in good if k not in bad]

    def loops(self, units: dict[str, UnitPlan], conns: list[Connection], settings: MasterSettings) -> None:
        if not wiring.loops_need_solving(settings):
            return
        edges = wiring.feedthrough_edges(units, conns)
        for loop in wiring.algebraic_loops(list(units), edges):
            k = next(
                i
                for i, c in enumerate(self.m.connections)
                if c.source.split(".")[0] in loop and c.to.split(".")[0] in loop and not c.delay
                and units[c.source.split(".")[0]].direct_feedthrough  # a connection that closes the loop
            )
            self.bad(("connections", k), wiring.loop_problem(loop, edges))


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
    bind_shared_values(model, units, c.bad)
    schedule = build_schedule(c)
    if schedule is not None:
        units[SCHEDULE] = _schedule_plan(schedule)
    alg = model.algorithm
    settings = MasterSettings(
        alg.method,
        LoopSolver(alg.loop.solver, alg.loop.max_iterations, alg.loop.tolerance) if alg.loop else None,
        alg.event_tolerance,
        alg.check_bounds,
    )
    c.units_seen = units
    check_rates(c, units, schedule)
    step = c.macro_step = fmu_checks.macro_step(c, units)
    fmu_checks.check_grids(c, units, schedule, step)
    conns = c.connections(units)
    c.loops(units, conns, settings)
    available = check_outputs.recordable(units, conns)
    events = check_outputs.events(c, units)
    groups = check_outputs.groups(c, available)
    summary = check_outputs.summary(c, units, available)
    streams = check_outputs.streams(c, available)
    recorded = [s for g in groups for s in g.signals]
    plots = check_outputs.plots(c, units, recorded)
    check_capabilities(c, units, conns, schedule, events)
    span = model.experiment.duration if duration is None else duration
    check_time.check_cost(c, units, schedule, groups, span, force)
    if c.problems:
        raise ScenarioError(c.problems)
    return Plan(
        source,
        model,
        units,
        conns,
        settings,
        schedule,
        model.experiment.start,
        model.experiment.duration,
        step,
        events,
        groups,
        summary,
        plots,
        notes=c.warnings,
        streams=streams,
    )


def _schedule_plan(schedule: Schedule) -> UnitPlan:
    probe = ScheduleUnit(schedule)
    return UnitPlan(
        SCHEDULE,
        "schedule",
        {p.name: p for p in probe.ports()},
        lambda s=schedule: ScheduleUnit(s),
        can_save_state=probe.can_save_state,
        direct_feedthrough=probe.direct_feedthrough,
        steps_ahead=probe.steps_ahead,
        facts={"type": "schedule"},
    )


__all__ = ["Plan", "UnitPlan", "SummaryRow", "make_plan", "dotted"]

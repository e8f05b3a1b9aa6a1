"""Everything that can be checked before a run: the scenario turned into a plan, or every problem found.

Checking resolves unit files and types, reads FMU descriptions without instantiating them,
builds the schedule, converts quantities to the ports' units, and checks connections
(ports, causality, types, units), rates, events, output globs, summary rows, plots and
algebraic loops. Each problem names the file, the line and the key.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cosim import registry, si
from cosim.connection import Connection
from cosim.errors import EvtwinError, ScenarioError
from cosim.master import Event, LoopSolver, MasterSettings, wiring
from cosim.results import OutputGroup
from cosim.scenario.model import ScenarioModel, to_unit
from cosim.scenario.source import Located, dotted
from cosim.schedule import DAY, WEEK, Ambient, Schedule, ScheduleUnit, Session
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port

SCHEDULE = "schedule"
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAY_SETS = {"weekdays": _DAYS[:5], "weekend": _DAYS[5:], "every_day": _DAYS}


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


@dataclass(frozen=True)
class SummaryRow:
    """A summary row: ``reduce`` of ``signal`` shown in ``unit`` (``gain``, ``offset``: from the port's)."""

    label: str
    signal: str
    reduce: str
    unit: str
    gain: float
    offset: float


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


class _Checker:
    def __init__(self, source: Located, model: ScenarioModel, say: Callable[[str], None]):
        self.src, self.m, self.say = source, model, say
        self.problems: list[str] = []
        self.base = source.path.parent
        self.failed: set[str] = set()  # units that could not be resolved: no follow-on problems about them

    def bad(self, where, message: str) -> None:
        self.problems.append(self.src.problem(where, message))

    # ---------------------------------------------------------------- units
    def units(self) -> dict[str, UnitPlan]:
        plans: dict[str, UnitPlan] = {}
        if self.m.schedule is not None and SCHEDULE in self.m.units:
            self.bad(
                ("units", SCHEDULE), "the name 'schedule' is taken by the usage schedule; rename this unit"
            )
        for name, spec in self.m.units.items():
            where = ("units", name)
            try:
                plan = (
                    self._fmu(name, spec, where) if spec.fmu is not None else self._typed(name, spec, where)
                )
            except ScenarioError as err:
                for p in err.problems:
                    self.bad(where + (("fmu",) if spec.fmu is not None else ("type",)), p)
                self.failed.add(name)
                continue
            if plan is None:
                self.failed.add(name)
                continue
            plan.parameters = self._parameters(plan, spec.parameters, where)
            plan.every = spec.every
            plans[name] = plan
        return plans

    def _fmu(self, name: str, spec, where) -> UnitPlan | None:
        path = (self.base / spec.fmu).resolve()
        if not path.is_file():
            builders = registry.fmu_builders()
            if path.name in builders:
                self.say(f"building {path.name} (named by units.{name}.fmu, not found at {path})")
                try:
                    registry.build_fmu(path.name, path.parent)
                except EvtwinError:
                    raise
                except Exception as err:
                    raise ScenarioError(f"building {path.name} failed: {type(err).__name__}: {err}") from err
            else:
                known = (
                    f"evtwin builds these when missing: {', '.join(sorted(builders))}; " if builders else ""
                )
                raise ScenarioError(
                    f"FMU file {spec.fmu!r} does not exist (looked for {path}); {known}"
                    "build the C FMUs that ship with evtwin with `evtwin fmus build-c`, or export the FMU "
                    "from its tool and fix the path"
                )
        try:
            from cosim.fmu import read_description
        except ImportError:
            raise ScenarioError("FMU support (cosim.fmu) is not available in this installation") from None
        desc = read_description(path, validate=spec.validate_fmu)
        facts = {
            "fmu": str(path),
            "guid": desc.guid,
            "fmiVersion": desc.fmi_version,
            "model": desc.model_name,
        }

        def make(path=path, spec=spec, name=name):
            from cosim.fmu import FMUUnit

            return FMUUnit(path, name, validate=spec.validate_fmu, debug_logging=spec.debug_logging)

        return UnitPlan(
            name,
            "fmu",
            {p.name: p for p in desc.ports},
            make,
            can_save_state=bool(desc.can_save_state),
            facts=facts,
        )

    def _typed(self, name: str, spec, where) -> UnitPlan | None:
        cls = registry.unit_type(spec.type)
        settings = dict(spec.settings)
        for key in getattr(cls, "path_settings", ()):
            if isinstance(settings.get(key), str):
                settings[key] = str((self.base / settings[key]).resolve())
        unknown = self._unknown_settings(cls, settings)
        if unknown:
            for key, hint in unknown:
                self.bad(
                    (*where, "settings", key), f"unknown setting {key!r} of unit type {spec.type!r}{hint}"
                )
            return None
        try:
            unit = cls(**settings)
        except EvtwinError as err:
            for p in getattr(err, "problems", [str(err)]):
                self.bad((*where, "settings"), p)
            return None
        except (TypeError, ValueError, KeyError, OSError) as err:
            self.bad((*where, "settings"), f"unit type {spec.type!r}: {err}")
            return None

        why = wiring.not_a_unit(unit)
        if why is not None:
            self.bad((*where, "type"), f"unit type {spec.type!r} makes an object that {why}")
            return None

        def make(cls=cls, settings=settings):
            return cls(**settings)

        return UnitPlan(
            name,
            "type",
            {p.name: p for p in unit.ports()},
            make,
            can_save_state=bool(unit.can_save_state),
            direct_feedthrough=bool(unit.direct_feedthrough),
            steps_ahead=bool(unit.steps_ahead),
            facts={"type": spec.type, "class": f"{cls.__module__}.{cls.__qualname__}"},
        )

    @staticmethod
    def _unknown_settings(cls, settings: dict) -> list[tuple[str, str]]:
        import difflib

        try:
            sig = inspect.signature(cls)
        except (TypeError, ValueError):
            return []
        params = sig.parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return []
        known = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        out = []
        for key in settings:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=2)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                out.append((key, f"{hint} (settings: {', '.join(known)})"))
        return out

    def _parameters(self, plan: UnitPlan, given: dict[str, Any], where) -> dict[str, Any]:
        import difflib

        out = {}
        params = {n: p for n, p in plan.ports.items() if p.causality == PARAMETER}
        for key, value in given.items():
            at = (*where, "parameters", key)
            port = params.get(key)
            if port is None:
                close = difflib.get_close_matches(key, params, n=3, cutoff=0.5)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                self.bad(at, f"{plan.name!r} has no parameter {key!r}{hint}")
                continue
            if port.type in ("Boolean", "String") or isinstance(value, bool):
                out[key] = value
                continue
            try:
                v = to_unit(value, port.unit)
            except ValueError as err:
                self.bad(
                    at, f"found {value!r}, expected a number in [{port.unit}] or {{value, unit}} ({err})"
                )
                continue
            out[key] = int(v) if port.type == "Integer" and float(v).is_integer() else v
        return out

    # ------------------------------------------------------------- schedule
    def schedule(self) -> Schedule | None:
        spec = self.m.schedule
        if spec is None:
            return None
        where = ("schedule",)
        sessions: list[Session] = []
        period = DAY
        if spec.daily is not None:
            sessions = [Session(_clock(s.at), s.duration, s.phase) for s in spec.daily]
            pattern_key = "daily"
        elif spec.weekly is not None:
            period, pattern_key = WEEK, "weekly"
            for key, items in spec.weekly.items():
                for day in _DAY_SETS.get(key, [key]):
                    offset = _DAYS.index(day) * DAY
                    sessions += [Session(offset + _clock(s.at), s.duration, s.phase) for s in items]
        else:
            pattern_key = "phases"
        ambient = self._ambient(spec.ambient)
        try:
            return Schedule(
                {n: p.step for n, p in spec.phases.items()}, spec.default, sessions, period, ambient
            )
        except ValueError as err:
            key = "default" if "default phase" in str(err) else pattern_key
            self.bad((*where, key), str(err))
            self.failed.add(SCHEDULE)
            return None

    def _ambient(self, spec) -> Ambient | None:
        where = ("schedule", "ambient")
        if spec.constant is not None:
            return Ambient(constant=spec.constant)
        if spec.profile is not None:
            try:
                return Ambient.profile(spec.profile)
            except ValueError as err:
                self.bad((*where, "profile"), str(err))
                return None
        path = (self.base / spec.file).resolve()
        if not path.is_file():
            self.bad((*where, "file"), f"ambient profile {spec.file!r} does not exist (looked for {path})")
            return None
        return Ambient(
            file=path,
            time_column=spec.time_column,
            time_unit=spec.time_unit,
            column=spec.column,
            unit=spec.unit,
        )

    # ----------------------------------------------------------- structure
    def rates(self, units: dict[str, UnitPlan], schedule: Schedule | None) -> None:
        if SCHEDULE in self.failed:
            return
        phases = schedule.phases if schedule is not None else []
        for name, plan in units.items():
            for problem in wiring.rate_problems(plan.every, plan):
                self.bad(("units", name, "every"), problem)
            if isinstance(plan.every, dict):
                for phase in plan.every:
                    if phase not in phases:
                        msg = (
                            f"no phase {phase!r}; phases: {', '.join(phases)}"
                            if phases
                            else "'every' by phase needs a schedule (there is none)"
                        )
                        self.bad(("units", name, "every", phase), msg)

    def connections(self, units: dict[str, UnitPlan]) -> list[Connection]:
        conns = [
            Connection(spec.source, spec.to, spec.gain, spec.offset, spec.transfer, spec.delay)
            for spec in self.m.connections
        ]
        ports = {name: plan.ports for name, plan in units.items()}
        bad = set()
        for p in wiring.connection_problems(conns, units, ports, skip=self.failed):
            key = {wiring.SOURCE: ("from",), wiring.TARGET: ("to",)}.get(p.end, ())
            self.bad(("connections", p.index, *key), p.message)
            bad.add(p.index)
        # A connection to a unit that failed to resolve has no problem of its own, and no place either.
        return [
            c
            for k, c in enumerate(conns)
            if k not in bad and c.source_unit in units and c.target_unit in units
        ]

    def loops(self, units: dict[str, UnitPlan], conns: list[Connection], settings: MasterSettings) -> None:
        if not wiring.loops_need_solving(settings):
            return
        edges = wiring.feedthrough_edges(units, conns)
        for loop in wiring.algebraic_loops(list(units), edges):
            k = next(
                i
                for i, c in enumerate(self.m.connections)
                if c.source.split(".")[0] in loop and c.to.split(".")[0] in loop
            )
            self.bad(("connections", k), wiring.loop_problem(loop, edges))

    def signals(self, units: dict[str, UnitPlan], conns: list[Connection]) -> list[str]:
        """Every recordable signal: outputs and connected inputs."""
        fed = {c.target for c in conns}
        out = []
        for name, plan in units.items():
            for port in plan.ports.values():
                sig = f"{name}.{port.name}"
                if port.causality == OUTPUT or (port.causality == INPUT and sig in fed):
                    out.append(sig)
        return out

    def match(self, patterns: list[str], available: list[str], where) -> list[str]:
        import difflib

        out: list[str] = []
        for k, pat in enumerate(patterns):
            hits = [s for s in available if fnmatch.fnmatchcase(s, pat)]
            unit_part = pat.partition(".")[0]
            if (
                not hits
                and unit_part not in self.failed
                and not (self.failed and any(c in unit_part for c in "*?["))
            ):
                close = difflib.get_close_matches(pat, available, n=3)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                self.bad((*where, k), f"{pat!r} matches no output or connected input{hint}")
            out += [h for h in hits if h not in out]
        return out

    def events(self, units: dict[str, UnitPlan]) -> list[Event]:
        out = []
        for k, spec in enumerate(self.m.events):
            where = ("events", k)
            unit, _, port_name = spec.signal.partition(".")
            port = units.get(unit, UnitPlan("", "", {}, lambda: None)).ports.get(port_name)
            if port is None or port.causality != OUTPUT:
                if unit not in self.failed:
                    self.bad(
                        (*where, "signal"),
                        f"{spec.signal!r} is not an output of a unit"
                        + _suggest(
                            spec.signal,
                            [
                                f"{n}.{p.name}"
                                for n, up in units.items()
                                for p in up.ports.values()
                                if p.causality == OUTPUT
                            ],
                        ),
                    )
                continue
            key = "above" if spec.above is not None else "below"
            try:
                threshold = to_unit(getattr(spec, key), port.unit)
            except ValueError as err:
                self.bad(
                    (*where, key), f"found {getattr(spec, key)!r}, expected a value in [{port.unit}] ({err})"
                )
                continue
            out.append(Event(spec.name, spec.signal, **{key: threshold}, stop=spec.stop))
        return out

    def groups(self, available: list[str]) -> list[OutputGroup]:
        out = []
        names = set()
        for k, g in enumerate(self.m.outputs.groups):
            if g.name in names:
                self.bad(("outputs", "groups", k, "name"), f"output group {g.name!r} is named twice")
            names.add(g.name)
            signals = self.match(g.signals, available, ("outputs", "groups", k, "signals"))
            out.append(OutputGroup(g.name, signals, g.every, g.interval or 0.0))
        return out

    def summary(self, units: dict[str, UnitPlan], available: list[str]) -> list[SummaryRow]:
        rows = []
        specs = self.m.summary
        if specs is None:
            return default_summary(units, available)
        for k, spec in enumerate(specs):
            where = ("summary", k)
            if spec.signal not in available:
                if spec.signal.partition(".")[0] not in self.failed:
                    self.bad(
                        (*where, "signal"),
                        f"{spec.signal!r} is not an output or a connected input"
                        + _suggest(spec.signal, available),
                    )
                continue
            unit, _, port_name = spec.signal.partition(".")
            port = units[unit].ports[port_name]
            row = _summary_row(spec.label, spec.signal, spec.reduce, port.unit, spec.unit)
            if isinstance(row, str):
                self.bad((*where, "unit"), row)
            else:
                rows.append(row)
        return rows

    def plots(self, units: dict[str, UnitPlan], recorded: list[str]) -> list[dict[str, Any]]:
        specs = self.m.plots
        if specs is None:
            return default_plots(units, recorded)
        out = []
        for k, spec in enumerate(specs):
            where = ("plots", k)
            signals = self.match(spec.signals, recorded, (*where, "signals"))
            if spec.unit is not None:
                for s in signals:
                    u, _, p = s.partition(".")
                    try:
                        si.conversion(units[u].ports[p].unit, spec.unit)
                    except si.UnitError as err:
                        self.bad((*where, "unit"), f"{s}: {err}")
            out.append({"title": spec.title, "signals": signals, "unit": spec.unit})
        return out


def _suggest(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def _summary_row(label: str, signal: str, reduce: str, port_unit: str, unit: str | None) -> SummaryRow | str:
    base = f"{port_unit}.s" if reduce == "integral" else port_unit
    if port_unit in ("1", "") and reduce == "integral":
        base = "s"
    target = unit or base
    try:
        g, o = si.conversion(base, target)
    except si.UnitError as err:
        return f"{signal}: {err}"
    if reduce in ("delta", "integral"):
        o = 0.0  # differences and integrals scale, they do not shift
    return SummaryRow(label, signal, reduce, target, g, o)


def default_summary(units: dict[str, UnitPlan], available: list[str]) -> list[SummaryRow]:
    """Rows chosen by unit: energy of each power (kWh), min/max of each temperature (degC), distances (km)."""
    rows: list[SummaryRow] = []
    for sig in available:
        unit, _, port_name = sig.partition(".")
        port = units[unit].ports[port_name]
        if port.causality != OUTPUT or unit == SCHEDULE:
            continue
        if port.unit == "W":
            rows.append(_summary_row(f"{sig} energy", sig, "integral", "W", "kWh"))
        elif port.unit == "K":
            rows.append(_summary_row(f"{sig} min", sig, "min", "K", "degC"))
            rows.append(_summary_row(f"{sig} max", sig, "max", "K", "degC"))
        elif port.unit == "m":
            rows.append(_summary_row(f"{sig} distance", sig, "delta", "m", "km"))
    return rows[:16]


def default_plots(units: dict[str, UnitPlan], recorded: list[str]) -> list[dict[str, Any]]:
    """Panels by unit: temperatures in degC, powers in kW, 0-1 signals, currents, voltages."""
    panels = [
        ("Temperatures", "K", "degC"),
        ("Power", "W", "kW"),
        ("Current", "A", "A"),
        ("Voltage", "V", "V"),
    ]
    out = []
    for title, unit, shown in panels:
        sigs = [s for s in recorded if units[s.split(".")[0]].ports[s.split(".", 1)[1]].unit == unit]
        if sigs:
            out.append({"title": title, "signals": sigs[:8], "unit": shown})
    ratio = [
        s
        for s in recorded
        if s.split(".")[0] != SCHEDULE
        and (p := units[s.split(".")[0]].ports[s.split(".", 1)[1]]).unit == "1"
        and p.type == "Real"
        and p.min is not None
        and p.max is not None
        and p.min >= 0
        and p.max <= 1
    ]
    if ratio:
        out.insert(0, {"title": "State (0-1)", "signals": ratio[:8], "unit": "1"})
    return out


def make_plan(source: Located, model: ScenarioModel, say: Callable[[str], None] = lambda s: None) -> Plan:
    """Check a parsed scenario; the plan, or a :class:`ScenarioError` listing every problem."""
    c = _Checker(source, model, say)
    units = c.units()
    schedule = c.schedule()
    if schedule is not None:
        probe = ScheduleUnit(schedule)
        units[SCHEDULE] = UnitPlan(
            SCHEDULE,
            "schedule",
            {p.name: p for p in probe.ports()},
            lambda s=schedule: ScheduleUnit(s),
            can_save_state=probe.can_save_state,
            direct_feedthrough=probe.direct_feedthrough,
            steps_ahead=probe.steps_ahead,
            facts={"type": "schedule"},
        )
    alg = model.algorithm
    settings = MasterSettings(
        alg.method,
        LoopSolver(alg.loop.solver, alg.loop.max_iterations, alg.loop.tolerance) if alg.loop else None,
        alg.event_tolerance,
        alg.check_bounds,
    )
    c.rates(units, schedule)
    conns = c.connections(units)
    c.loops(units, conns, settings)
    available = c.signals(units, conns)
    events = c.events(units)
    groups = c.groups(available)
    summary = c.summary(units, available)
    recorded = [s for g in groups for s in g.signals]
    plots = c.plots(units, recorded)
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
        alg.step,
        events,
        groups,
        summary,
        plots,
    )


__all__ = ["Plan", "UnitPlan", "SummaryRow", "make_plan", "dotted"]

"""What a run observes: recordable signals, output groups, events, summary rows and plots.

With no ``summary`` or ``plots`` in the file, defaults are chosen from the ports' units.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from cosim import si
from cosim.connection import Connection
from cosim.master import Event
from cosim.results import OutputGroup
from cosim.scenario import fmu_checks
from cosim.scenario.checking import SCHEDULE, Findings, SummaryRow, UnitPlan, suggest
from cosim.scenario.model import to_unit
from cosim.unit import INPUT, OUTPUT


def recordable(units: dict[str, UnitPlan], conns: list[Connection]) -> list[str]:
    """Every recordable signal: outputs and connected inputs."""
    fed = {c.target for c in conns}
    out = []
    for name, plan in units.items():
        for port in plan.ports.values():
            sig = f"{name}.{port.name}"
            if port.causality == OUTPUT or (port.causality == INPUT and sig in fed):
                out.append(sig)
    return out


def match(f: Findings, patterns: list[str], available: list[str], where) -> list[str]:
    """The signals of ``available`` that the globs name; a glob that names none is a problem.

    Variables evtwin cannot record (String, Binary, arrays) are refused with the reason where named,
    and skipped with a warning where a glob would match them.
    """
    units = getattr(f, "units_seen", {})
    skipped = fmu_checks.skipped_by_globs(units, patterns)
    if skipped:
        f.warn(where, f"skipped {', '.join(skipped)}: evtwin records scalar numeric and Boolean variables")
    out: list[str] = []
    for k, pat in enumerate(patterns):
        hits = [s for s in available if fnmatch.fnmatchcase(s, pat)]
        unit_part = pat.partition(".")[0]
        why = fmu_checks.unsupported_reason(units, pat)
        if why:
            f.bad((*where, k), why)
            continue
        if not hits and unit_part not in f.failed and not (f.failed and any(c in unit_part for c in "*?[")):
            f.bad((*where, k), f"{pat!r} matches no output or connected input{suggest(pat, available)}")
        out += [h for h in hits if h not in out]
    return out


def events(f: Findings, units: dict[str, UnitPlan]) -> list[Event]:
    """The threshold crossings, thresholds converted to the watched output's unit."""
    outputs = [f"{n}.{p.name}" for n, up in units.items() for p in up.ports.values() if p.causality == OUTPUT]
    out = []
    for k, spec in enumerate(f.m.events):
        where = ("events", k)
        unit, _, port_name = spec.signal.partition(".")
        port = units[unit].ports.get(port_name) if unit in units else None
        if port is None or port.causality != OUTPUT:
            if unit not in f.failed:
                f.bad(
                    (*where, "signal"),
                    f"{spec.signal!r} is not an output of a unit{suggest(spec.signal, outputs)}",
                )
            continue
        key = "above" if spec.above is not None else "below"
        try:
            threshold = to_unit(getattr(spec, key), port.unit)
        except ValueError as err:
            f.bad((*where, key), f"found {getattr(spec, key)!r}, expected a value in [{port.unit}] ({err})")
            continue
        out.append(Event(spec.name, spec.signal, **{key: threshold}, stop=spec.stop))
    return out


def groups(f: Findings, available: list[str]) -> list[OutputGroup]:
    """The output groups with their globs expanded."""
    out = []
    names = set()
    for k, g in enumerate(f.m.outputs.groups):
        if g.name in names:
            f.bad(("outputs", "groups", k, "name"), f"output group {g.name!r} is named twice")
        names.add(g.name)
        signals = match(f, g.signals, available, ("outputs", "groups", k, "signals"))
        out.append(OutputGroup(g.name, signals, g.every, g.interval or 0.0))
    return out


def streams(f: Findings, available: list[str]) -> list[tuple[Any, dict[str, Any], list[str]]]:
    """``(kind class, settings, signals)`` of each stream output the file asks for."""
    from cosim import registry

    out = []
    for k, spec in enumerate(f.m.outputs.streams):
        where = ("outputs", "streams", k)
        try:
            kind = registry.output_kind(spec.kind)
        except ValueError as err:
            f.bad((*where, "kind"), str(err))
            continue
        try:
            signals = list(kind.signals(dict(spec.settings), available))
        except ValueError as err:
            f.bad((*where, "settings"), str(err))
            continue
        out.append((kind, dict(spec.settings), signals))
    return out


def summary(f: Findings, units: dict[str, UnitPlan], available: list[str]) -> list[SummaryRow]:
    """The summary rows the file asks for, or rows chosen by unit."""
    specs = f.m.summary
    if specs is None:
        return default_summary(units, available)
    rows = []
    for k, spec in enumerate(specs):
        where = ("summary", k)
        if spec.signal not in available:
            if spec.signal.partition(".")[0] not in f.failed:
                f.bad(
                    (*where, "signal"),
                    f"{spec.signal!r} is not an output or a connected input"
                    + suggest(spec.signal, available),
                )
            continue
        unit, _, port_name = spec.signal.partition(".")
        port = units[unit].ports[port_name]
        row = summary_row(spec.label, spec.signal, spec.reduce, port.unit, spec.unit)
        if isinstance(row, str):
            f.bad((*where, "unit"), row)
        else:
            rows.append(row)
    return rows


def plots(f: Findings, units: dict[str, UnitPlan], recorded: list[str]) -> list[dict[str, Any]]:
    """The plot panels the file asks for, or panels chosen by unit."""
    specs = f.m.plots
    if specs is None:
        return default_plots(units, recorded)
    out = []
    for k, spec in enumerate(specs):
        where = ("plots", k)
        signals = match(f, spec.signals, recorded, (*where, "signals"))
        if spec.unit is not None:
            for s in signals:
                u, _, p = s.partition(".")
                try:
                    si.conversion(units[u].ports[p].unit, spec.unit)
                except si.UnitError as err:
                    f.bad((*where, "unit"), f"{s}: {err}")
        out.append({"title": spec.title, "signals": signals, "unit": spec.unit})
    return out


def summary_row(label: str, signal: str, reduce: str, port_unit: str, unit: str | None) -> SummaryRow | str:
    """The row, or why ``unit`` cannot show it."""
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
            rows.append(summary_row(f"{sig} energy", sig, "integral", "W", "kWh"))
        elif port.unit == "K":
            rows.append(summary_row(f"{sig} min", sig, "min", "K", "degC"))
            rows.append(summary_row(f"{sig} max", sig, "max", "K", "degC"))
        elif port.unit == "m":
            rows.append(summary_row(f"{sig} distance", sig, "delta", "m", "km"))
    return rows[:16]


def default_plots(units: dict[str, UnitPlan], recorded: list[str]) -> list[dict[str, Any]]:
    """Panels by unit: temperatures in degC, powers in kW, 0-1 signals, currents, voltages."""

    def port(s: str):
        return units[s.split(".")[0]].ports[s.split(".", 1)[1]]

    panels = [
        ("Temperatures", "K", "degC"),
        ("Power", "W", "kW"),
        ("Current", "A", "A"),
        ("Voltage", "V", "V"),
    ]
    out = []
    for title, unit, shown in panels:
        sigs = [s for s in recorded if port(s).unit == unit]
        if sigs:
            out.append({"title": title, "signals": sigs[:8], "unit": shown})
    ratio = [
        s
        for s in recorded
        if s.split(".")[0] != SCHEDULE
        and (p := port(s)).unit == "1"
        and p.type == "Real"
        and p.min is not None
        and p.max is not None
        and p.min >= 0
        and p.max <= 1
    ]
    if ratio:
        out.insert(0, {"title": "State (0-1)", "signals": ratio[:8], "unit": "1"})
    return out

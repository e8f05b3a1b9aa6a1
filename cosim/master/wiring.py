"""How the units are wired: the checks of connections, rates, events and observed signals, the
execution order and algebraic loops, and each unit's bound inputs and outputs (its slot).

Everything here runs once, before a run; the stepping code (:mod:`cosim.master.stepping`) only
reads the slots it leaves.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from cosim import graph, si
from cosim.connection import MEAN, Connection, check_ends, coefficients
from cosim.errors import EvtwinWarning, ScenarioError
from cosim.master.settings import GAUSS_SEIDEL, JACOBI, Event, MasterSettings
from cosim.unit import INPUT, OUTPUT, Port, Unit

_INF = math.inf

#: Ports of each unit by name: ``ports[unit][port]``.
Ports = Mapping[str, Mapping[str, Port]]


class Slot:
    """A unit as the master steps it: bound calls, input plan, rate, window."""

    __slots__ = (
        "i",
        "name",
        "unit",
        "set_inputs",
        "do_step",
        "get_outputs",
        "inputs",
        "outputs",
        "direct",
        "delayed",
        "mean",
        "acc",
        "every_by_phase",
        "every",
        "count",
        "t_w",
        "bounds",
        "ahead",
        "feedthrough",
    )

    def __init__(self, i: int, name: str, unit: Unit):
        self.i, self.name, self.unit = i, name, unit
        self.set_inputs, self.do_step, self.get_outputs = unit.set_inputs, unit.do_step, unit.get_outputs
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.direct: list[tuple[int, int, float, float]] = []
        self.delayed: list[tuple[int, int, float, float]] = []
        self.mean: list[tuple[int, int, float, float]] = []
        self.acc: list[float] = []
        self.every_by_phase: Mapping[str, int] | int = 1
        self.every = 1
        self.count = 0
        self.t_w = 0.0
        self.bounds: list[tuple[int, float, float]] = []
        self.ahead = bool(getattr(unit, "steps_ahead", False))
        self.feedthrough = bool(getattr(unit, "direct_feedthrough", True))


class Loop:
    """An algebraic loop resolved by fixed-point iteration."""

    __slots__ = ("slots", "watch", "cycle", "can_iterate")

    def __init__(self, slots: list[Slot], watch: list[tuple[int, int]], cycle: str, can_iterate: bool):
        self.slots, self.watch, self.cycle, self.can_iterate = slots, watch, cycle, can_iterate


def can_save(unit: Unit) -> bool:
    return bool(getattr(unit, "can_save_state", False))


# ------------------------------------------------------------------------------------ checks
def check_connections(
    units: Mapping[str, Unit], ports: Ports, connections: Sequence[Connection]
) -> list[str]:
    problems: list[str] = []
    fed: dict[str, str] = {}
    for c in connections:
        missing = [u for u in (c.source_unit, c.target_unit) if u not in units]
        if missing:
            problems += [
                f"connection {c.source} -> {c.target}: no unit named {u!r} (units: {', '.join(units)})"
                for u in missing
            ]
            continue
        src = ports[c.source_unit].get(c.source_port)
        dst = ports[c.target_unit].get(c.target_port)
        ends = check_ends(c, src, dst, list(ports[c.source_unit]), list(ports[c.target_unit]))
        problems += [f"connection {c.source} -> {c.target}: {p}" for p in ends]
        if ends:
            continue
        try:
            coefficients(c, src, dst)
        except si.UnitError as err:
            problems.append(f"connection {c.source} -> {c.target}: {err}")
        if c.target in fed:
            problems.append(
                f"connection {c.source} -> {c.target}: {c.target!r} is already fed by {fed[c.target]!r}; "
                "an input takes one connection"
            )
        fed[c.target] = c.source
        if getattr(units[c.target_unit], "steps_ahead", False):
            problems.append(
                f"connection {c.source} -> {c.target}: unit {c.target_unit!r} is a time source "
                "and takes no connected inputs"
            )
    return problems


def check_rates(units: Mapping[str, Unit], every: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, spec in every.items():
        if name not in units:
            problems.append(f"every: no unit named {name!r}")
            continue
        values = spec.values() if isinstance(spec, Mapping) else [spec]
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append(f"every: {name}: step multiple must be an integer >= 1 (got {v!r})")
        if getattr(units[name], "steps_ahead", False) and any(v != 1 for v in values):
            problems.append(f"every: {name}: a time source steps at every macro step")
    return problems


def check_events(ports: Ports, events: Sequence[Event]) -> list[str]:
    problems = []
    for e in events:
        unit, _, port = e.signal.partition(".")
        p = ports.get(unit, {}).get(port)
        if p is None or p.causality != OUTPUT:
            problems.append(f"event {e.name!r}: {e.signal!r} is not an output of a unit")
    return problems


def check_observed(ports: Ports, connections: Sequence[Connection], observe: Sequence[str]) -> list[str]:
    connected = {c.target for c in connections}
    problems = []
    for sig in observe:
        unit, _, port = sig.partition(".")
        p = ports.get(unit, {}).get(port)
        if p is None:
            problems.append(f"observed signal {sig!r} is not a port of a unit")
        elif p.causality == INPUT and sig not in connected:
            problems.append(
                f"observed signal {sig!r} is an input without a connection (it keeps its start value)"
            )
        elif p.causality not in (INPUT, OUTPUT):
            problems.append(f"observed signal {sig!r} is a {p.causality}, not an input or output")
    return problems


# ------------------------------------------------------------------------------------- order
def feedthrough_edges(units: Mapping[str, Unit], connections: Sequence[Connection]) -> list[tuple[str, str]]:
    edges = []
    for c in connections:
        if c.delay == 0 and getattr(units[c.source_unit], "direct_feedthrough", True):
            edges.append((c.source_unit, c.target_unit))
    return edges


def execution_order(
    units: Mapping[str, Unit], connections: Sequence[Connection], settings: MasterSettings
) -> tuple[list[str], list[list[str]]]:
    """Unit names in stepping order, and the algebraic loops to iterate."""
    names = list(units)
    # Time sources first: they have no inputs and every other unit may read them.
    names.sort(key=lambda n: not getattr(units[n], "steps_ahead", False))
    edges = feedthrough_edges(units, connections)
    comps = graph.strongly_connected(names, edges)
    loops = [c for c in comps if graph.is_loop(c, edges)]
    if loops and settings.method == GAUSS_SEIDEL and settings.loop is None:
        raise ScenarioError(
            [
                f"algebraic loop {graph.describe_cycle(c, edges)}: each unit's outputs depend on its "
                "inputs "
                "within the same macro step; add 'delay: 1' to one of its connections, or set "
                "algorithm.loop: {solver: fixedpoint} to iterate (needs units that can save their state)"
                for c in loops
            ]
        )
    order = [n for comp in comps for n in comp]
    if settings.method == JACOBI:
        loops = []
    return order, loops


# -------------------------------------------------------------------------------------- bind
def bind(  # noqa: C901 - one pass over ports and connections
    slots: Sequence[Slot],
    ports: Ports,
    connections: Sequence[Connection],
    events: Sequence[Event],
    observe: Sequence[str],
    check_bounds: bool,
) -> None:
    """Fill each slot's outputs, input plan and bounds, and bind its unit to them."""
    slot_of = {s.name: s for s in slots}
    wanted_out: dict[str, list[str]] = {s.name: [] for s in slots}

    def want(sig: str) -> None:
        unit, _, port = sig.partition(".")
        if ports[unit][port].causality == OUTPUT and port not in wanted_out[unit]:
            wanted_out[unit].append(port)

    for c in connections:
        want(c.source)
    for e in events:
        want(e.signal)
    for sig in observe:
        want(sig)
    for s in slots:
        s.outputs = wanted_out[s.name]
    for s in slots:
        conns = [c for c in connections if c.target_unit == s.name]
        # Bind order: direct reads, then delayed reads, then means (one list comprehension each).
        groups = {"direct": [], "delayed": [], "mean": []}
        for c in conns:
            kind = "mean" if c.transfer == MEAN else "delayed" if c.delay else "direct"
            groups[kind].append(c)
        for kind, cs in groups.items():
            plan = []
            for c in cs:
                src = slot_of[c.source_unit]
                g, o = coefficients(c, ports[c.source_unit][c.source_port], ports[s.name][c.target_port])
                plan.append((src.i, src.outputs.index(c.source_port), g, o))
                s.inputs.append(c.target_port)
            setattr(s, kind, plan)
        s.acc = [0.0] * len(s.mean)
        if check_bounds:
            for pos, name in enumerate(s.outputs):
                p = ports[s.name][name]
                if p.min is not None or p.max is not None:
                    s.bounds.append(
                        (pos, -_INF if p.min is None else p.min, _INF if p.max is None else p.max)
                    )
        s.unit.bind(list(s.inputs), list(s.outputs))


def blocks(
    slots: Sequence[Slot],
    units: Mapping[str, Unit],
    connections: Sequence[Connection],
    loops: list[list[str]],
) -> list[Slot | Loop]:
    """What the macro step walks after the time sources: single slots, and loops as one block."""
    slot_of = {s.name: s for s in slots}
    in_loop = {n: loop for loop in loops for n in loop}
    result: list[Slot | Loop] = []
    done: set[str] = set()
    edges = feedthrough_edges(units, connections)
    for s in slots:
        if s.ahead or s.name in done:
            continue
        loop = in_loop.get(s.name)
        if loop is None:
            result.append(s)
            continue
        members = [slot_of[n] for n in loop]
        done.update(loop)
        rates = {repr(m.every_by_phase) for m in members}
        if len(rates) > 1:
            raise ScenarioError(
                f"units in the algebraic loop {graph.describe_cycle(loop, edges)} "
                "must step at the same rate ('every')"
            )
        watch = sorted(
            {
                (slot_of[c.source_unit].i, slot_of[c.source_unit].outputs.index(c.source_port))
                for c in connections
                if c.source_unit in loop and c.target_unit in loop and c.delay == 0
            }
        )
        cannot = [m.name for m in members if not can_save(m.unit)]
        cycle = graph.describe_cycle(loop, edges)
        if cannot:
            warnings.warn(
                f"algebraic loop {cycle}: {', '.join(cannot)} cannot save and restore state, so the "
                "loop is not iterated; it runs once per macro step, reading the values from the "
                "start of the step",
                EvtwinWarning,
                stacklevel=3,
            )
        result.append(Loop(members, watch, cycle, not cannot))
    return result

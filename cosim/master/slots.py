"""Each unit as the master steps it (its slot): bound outputs, the plan that gathers its inputs,
its output bounds, its rate window; and the blocks the macro step walks (slots, and algebraic loops).

Built once, before a run; the stepping code (:mod:`cosim.master.stepping`) only reads them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

from cosim import graph, run_warnings
from cosim.connection import MEAN, Connection, coefficients
from cosim.errors import EvtwinWarning, ScenarioError, SimulationError
from cosim.master.settings import Event
from cosim.master.wiring import Ports, feedthrough_edges
from cosim.unit import OUTPUT, Unit

_INF = math.inf


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
        self.ahead = bool(unit.steps_ahead)


class Loop:
    """An algebraic loop resolved by fixed-point iteration."""

    __slots__ = ("slots", "watch", "cycle", "can_iterate")

    def __init__(self, slots: list[Slot], watch: list[tuple[int, int]], cycle: str, can_iterate: bool):
        self.slots, self.watch, self.cycle, self.can_iterate = slots, watch, cycle, can_iterate


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
        cannot = [m.name for m in members if not m.unit.can_save_state]
        cycle = graph.describe_cycle(loop, edges)
        if cannot:
            warnings.warn(run_warnings.loop_not_iterated(cycle, cannot), EvtwinWarning, stacklevel=3)
        result.append(Loop(members, watch, cycle, not cannot))
    return result


def means(slot: Slot, t_end: float) -> list[float]:
    """The slot's mean-transferred outputs over its step ending at ``t_end`` [s], converted by each
    connection's gain and offset; the accumulators start again from zero."""
    span = t_end - slot.t_w
    acc = slot.acc
    vals = [acc[j] / span * g + o for j, (_, _, g, o) in enumerate(slot.mean)]
    for j in range(len(acc)):
        acc[j] = 0.0
    return vals


def check_outputs(slot: Slot, values, t: float, ports) -> None:
    """Refuse outputs that are not finite or leave their declared range; ``ports``: the unit's ports by name."""
    for pos, v in enumerate(values):
        if not math.isfinite(v):
            raise SimulationError(f"output {slot.outputs[pos]!r} is {v} (not finite)", slot.name, t)
    for pos, lo, hi in slot.bounds:
        v = values[pos]
        if not lo <= v <= hi:
            port = ports[slot.outputs[pos]]
            unit = "" if port.unit in ("1", "") else f" {port.unit}"
            raise SimulationError(
                f"output {port.name!r} = {v:g}{unit} is outside its range [{lo:g}, {hi:g}]{unit}; "
                "the unit's state or its inputs went out of the range it declares",
                slot.name,
                t,
            )

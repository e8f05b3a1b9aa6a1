"""The checks of how units are wired, written once: the master runs them on its units, and the
scenario validator (:mod:`cosim.scenario.plan`) on the units a scenario file names, before any unit
is built. Connections (units, ports, causality, types, units of measure, inputs fed once, time
sources fed nothing), step multiples, events and observed signals; and the execution order with the
algebraic loops in it.

The checks see a unit through its ports and the capabilities it declares (``steps_ahead``,
``direct_feedthrough``; see :class:`~cosim.unit.Unit`), so a built unit and a validator's plan of one
are checked alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cosim import graph, si
from cosim.connection import Connection, check_ends, coefficients
from cosim.errors import ScenarioError
from cosim.master.settings import GAUSS_SEIDEL, JACOBI, Event, MasterSettings
from cosim.unit import INPUT, OUTPUT, Port, Unit

#: Ports of each unit by name: ``ports[unit][port]``.
Ports = Mapping[str, Mapping[str, Port]]

SOURCE, TARGET = "source", "target"


class Capabilities(Protocol):
    """What the wiring checks need to know of a unit beyond its ports (declared on :class:`Unit`)."""

    steps_ahead: bool
    direct_feedthrough: bool


@dataclass(frozen=True, slots=True)
class ConnectionProblem:
    """A problem with ``connections[index]``, at its ``source`` or ``target`` end or (``None``) as a whole."""

    index: int
    end: str | None
    message: str


# ------------------------------------------------------------------------------------ units
def not_a_unit(obj: Any) -> str | None:
    """Why ``obj`` cannot be a unit (the master reads the capabilities :class:`Unit` declares), or None."""
    if isinstance(obj, Unit):
        return None
    return f"is a {type(obj).__name__}, not a cosim.unit.Unit: subclass Unit (or PythonUnit)"


def unit_problems(units: Mapping[str, Any]) -> list[str]:
    """Objects among ``units`` that are not units."""
    return [f"unit {name!r} {why}" for name, u in units.items() if (why := not_a_unit(u)) is not None]


# ------------------------------------------------------------------------------ connections
def connection_problems(
    connections: Sequence[Connection],
    units: Mapping[str, Capabilities],
    ports: Ports,
    skip: Collection[str] = (),
) -> list[ConnectionProblem]:
    """Every problem with ``connections``; none about units named in ``skip`` (already reported)."""
    problems: list[ConnectionProblem] = []
    fed: dict[str, int] = {}
    for k, c in enumerate(connections):
        missing = [
            (end, u) for end, u in ((SOURCE, c.source_unit), (TARGET, c.target_unit)) if u not in ports
        ]
        if missing:
            problems += [
                ConnectionProblem(k, end, f"no unit named {u!r}; units: {', '.join(ports)}")
                for end, u in missing
                if u not in skip
            ]
            continue
        src = ports[c.source_unit].get(c.source_port)
        dst = ports[c.target_unit].get(c.target_port)
        ends = check_ends(c, src, dst, list(ports[c.source_unit]), list(ports[c.target_unit]))
        problems += [
            ConnectionProblem(k, SOURCE if p.startswith(repr(c.source)) else TARGET, p) for p in ends
        ]
        if ends:
            continue
        try:
            coefficients(c, src, dst)
        except si.UnitError as err:
            problems.append(ConnectionProblem(k, None, str(err)))
        if c.target in fed:
            j = fed[c.target]
            problems.append(
                ConnectionProblem(
                    k,
                    TARGET,
                    f"{c.target!r} is already fed by {connections[j].source!r} (connections[{j}]); "
                    "an input takes one connection",
                )
            )
        else:
            fed[c.target] = k
        if units[c.target_unit].steps_ahead:
            problems.append(
                ConnectionProblem(
                    k, TARGET, f"unit {c.target_unit!r} is a time source and takes no connected inputs"
                )
            )
    return problems


def check_connections(
    connections: Sequence[Connection], units: Mapping[str, Unit], ports: Ports
) -> list[str]:
    """:func:`connection_problems` as sentences that name the connection."""
    return [
        f"connection {connections[p.index].source} -> {connections[p.index].target}: {p.message}"
        for p in connection_problems(connections, units, ports)
    ]


# ------------------------------------------------------------------------------------ rates
def rate_problems(spec: Any, unit: Capabilities) -> list[str]:
    """Problems with a step multiple ``spec`` (an int, or ints by phase) for ``unit``."""
    values = list(spec.values()) if isinstance(spec, Mapping) else [spec]
    problems = [
        f"step multiple must be an integer >= 1 (got {v!r})"
        for v in values
        if not isinstance(v, int) or isinstance(v, bool) or v < 1
    ]
    if unit.steps_ahead and any(v != 1 for v in values):
        problems.append("a time source steps at every macro step")
    return problems


def check_rates(units: Mapping[str, Unit], every: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, spec in every.items():
        if name not in units:
            problems.append(f"every: no unit named {name!r}")
            continue
        problems += [f"every: {name}: {p}" for p in rate_problems(spec, units[name])]
    return problems


# --------------------------------------------------------------------------- events, signals
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
def feedthrough_edges(
    units: Mapping[str, Capabilities], connections: Sequence[Connection]
) -> list[tuple[str, str]]:
    """``(source unit, target unit)`` of each connection that passes a value on within a macro step."""
    return [
        (c.source_unit, c.target_unit)
        for c in connections
        if c.delay == 0 and units[c.source_unit].direct_feedthrough
    ]


def algebraic_loops(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """The cycles of direct feed-through among ``names``, each as its units."""
    return [c for c in graph.strongly_connected(names, edges) if graph.is_loop(c, edges)]


def loop_problem(loop: Sequence[str], edges: Sequence[tuple[str, str]]) -> str:
    """Why an algebraic loop cannot run as it is, and the two ways out."""
    return (
        f"algebraic loop {graph.describe_cycle(loop, edges)}: each unit's outputs depend on its inputs "
        "within the same macro step; add 'delay: 1' to one of its connections, or set "
        "algorithm.loop: {solver: fixedpoint} to iterate (needs units that can save their state)"
    )


def loops_need_solving(settings: MasterSettings) -> bool:
    """Whether an algebraic loop is an error under ``settings`` (Gauss-Seidel without a loop solver)."""
    return settings.method == GAUSS_SEIDEL and settings.loop is None


def execution_order(
    units: Mapping[str, Unit], connections: Sequence[Connection], settings: MasterSettings
) -> tuple[list[str], list[list[str]]]:
    """Unit names in stepping order, and the algebraic loops to iterate.

    Raises
    ------
    ScenarioError
        For algebraic loops that the settings give no way to run.
    """
    names = list(units)
    # Time sources first: they have no inputs and every other unit may read them.
    names.sort(key=lambda n: not units[n].steps_ahead)
    edges = feedthrough_edges(units, connections)
    comps = graph.strongly_connected(names, edges)
    loops = [c for c in comps if graph.is_loop(c, edges)]
    if loops and loops_need_solving(settings):
        raise ScenarioError([loop_problem(c, edges) for c in loops])
    order = [n for comp in comps for n in comp]
    if settings.method == JACOBI:
        loops = []
    return order, loops

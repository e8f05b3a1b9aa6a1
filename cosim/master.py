"""The master algorithm: steps connected units over a timeline of macro steps.

Semantics, in the order they apply within one macro step ``[t, t + h]``:

1. Units that ``steps_ahead`` (sources and the usage schedule, whose outputs depend on time
   only) are stepped first; their outputs then hold over ``[t, t + h]``.
2. Gauss-Seidel (default): the other units step in dependency order, each reading the
   outputs its sources have just produced at ``t + h``. Jacobi: every unit reads the outputs
   as they were at ``t`` (after step 1), so the order does not matter.
   A connection with ``delay: 1`` always reads the value at ``t``.
3. A unit with ``every: n`` steps once per ``n`` macro steps, over the whole window
   ``[t_w, t_w + n h]``, at the macro step that ends the window (after its sources); in
   between its outputs hold. At the end of a segment (a phase boundary) and at an event every
   unit steps to that point, however far into its window it is.
4. ``transfer: mean`` hands the target the time average of the source over the target's
   window (exact step weights), instead of the last sample.
5. Outputs are checked after each step: finite and within the port's min/max, else
   :class:`~cosim.errors.SimulationError` naming unit, port and time.

Communication points are ``segment.start + k * segment.step`` with integer ``k``; a located
event starts a new grid from the event time.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cosim import graph, si
from cosim.connection import MEAN, Connection, check_ends, coefficients
from cosim.errors import EvtwinError, EvtwinWarning, ScenarioError, SimulationError
from cosim.timeline import Segment
from cosim.unit import INPUT, OUTPUT, Port, Unit

GAUSS_SEIDEL = "gauss_seidel"
JACOBI = "jacobi"
METHODS = (GAUSS_SEIDEL, JACOBI)
_INF = math.inf


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


class Observer:
    """Watches a run: results writers and summary reductions implement it."""

    #: False when :meth:`sample` has nothing left to do once :meth:`fast_sampling` took over.
    samples_each_point: bool = True

    def start(self, master: Master, t0: float) -> None:
        """Called once before the first sample."""

    def sample(self, t: float, outs: list, ins: list) -> None:
        """Called at every communication point ``t`` [s] (and at the start) with every unit's values.

        ``outs[i]``/``ins[i]`` are the bound outputs/inputs of ``master.slots[i]``; the
        sequences are not modified later, so an observer may keep references.
        """

    def event(self, t: float, name: str) -> None:
        """Called when an event fires at ``t`` [s]."""

    def fast_sampling(self) -> list:
        """Optional fast path for samples taken at every point: entries with ``pack_into``, ``buffer``,
        ``vectors``, ``row_bytes``, ``start``, ``check`` and ``save`` (:class:`cosim.results.writer.FastSampling`).

        The master's generated loop then takes ``pos, next_check = start()``, and at every
        communication point packs ``t`` followed by ``*outs[i]`` or ``*ins[i]`` for each
        ``(is_output, i)`` of ``vectors`` with ``pack_into(buffer, pos, ...)``, advances ``pos``
        by ``row_bytes``, and calls ``pos, next_check = check(pos)`` once ``pos >= next_check``;
        it hands ``pos`` back with ``save(pos)`` when the segment ends or fails. :meth:`sample`
        must then leave those rows out. Asked once, after the first sample, and only when the
        whole run can use the fast loop.
        """
        return []


@dataclass
class RunStats:
    """What a run did: end time [s], macro steps, rejected trials, events, wall and CPU time [s]."""

    start: float
    end: float = 0.0
    steps: int = 0
    rejected: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)
    stopped_by: str | None = None
    wall_time: float = 0.0
    cpu_time: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Simulated time per wall-clock time."""
        return (self.end - self.start) / self.wall_time if self.wall_time > 0 else _INF


class _Slot:
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


class _Loop:
    """An algebraic loop resolved by fixed-point iteration."""

    __slots__ = ("slots", "watch", "cycle", "can_iterate")

    def __init__(self, slots: list[_Slot], watch: list[tuple[int, int]], cycle: str, can_iterate: bool):
        self.slots, self.watch, self.cycle, self.can_iterate = slots, watch, cycle, can_iterate


def _can_save(unit: Unit) -> bool:
    return bool(getattr(unit, "can_save_state", False))


class Master:
    """Steps a set of connected units.

    Parameters
    ----------
    units : mapping of str to Unit
        Units by instance name; parameters must already be configured.
    connections : sequence of Connection
        Output -> input links; every input is fed at most once.
    settings : MasterSettings
        Algorithm options.
    every : mapping of str to int or mapping of str to int
        Per-unit step multiple: ``{"battery": 10}`` or ``{"battery": {"drive": 10}}`` (by phase;
        phases not named step every macro step).
    events : sequence of Event
        Threshold crossings to land on.
    observe : iterable of str
        Further ``unit.port`` signals that observers read (outputs, or connected inputs).
    compile : bool
        Run segments without events or loops through generated straight-line code
        (:mod:`cosim.compiled`); ``False`` keeps the interpreter (same results, slower).

    Raises
    ------
    ScenarioError
        Listing every problem with the connections, rates, events and loops.

    Examples
    --------
    >>> from cosim.sources import Constant
    >>> m = Master({"c": Constant(value=2.0, unit="kW")}, [])
    >>> stats = m.run([Segment(0.0, 10.0, 1.0)])
    >>> stats.steps
    10
    """

    def __init__(
        self,
        units: Mapping[str, Unit],
        connections: Sequence[Connection] = (),
        *,
        settings: MasterSettings | None = None,
        every: Mapping[str, Any] | None = None,
        events: Sequence[Event] = (),
        observe: Iterable[str] = (),
        compile: bool = True,
    ):
        self.settings = settings or MasterSettings()
        self.units = dict(units)
        self.connections = list(connections)
        self.events = list(events)
        for name, unit in self.units.items():
            unit.name = name
        self._ports = {name: {p.name: p for p in unit.ports()} for name, unit in self.units.items()}
        problems = self._check_connections()
        problems += self._check_rates(every or {})
        problems += self._check_events()
        observe = list(observe)
        problems += self._check_observed(observe)
        if problems:
            raise ScenarioError(problems)
        order, loops = self._order()
        self.slots = [_Slot(i, name, self.units[name]) for i, name in enumerate(order)]
        self._slot_of = {s.name: s for s in self.slots}
        for s in self.slots:
            s.every_by_phase = (every or {}).get(s.name, 1)
        self._bind(observe)
        located = [self.locate(sig) for sig in observe]
        self._watched_out = {i for i, causality, _ in located if causality == OUTPUT}
        self._watched_in = {i for i, causality, _ in located if causality == INPUT}
        self._blocks = self._make_blocks(loops)
        # Static units (constants) are set up and read once; stepping them would change nothing.
        self._ahead = [s for s in self.slots if s.ahead and not getattr(s.unit, "static", False)]
        self._event_at = [self.locate(e.signal)[::2] for e in self.events]
        self._jacobi = self.settings.method == JACOBI
        self._need_prev = self._jacobi or any(s.delayed for s in self.slots)
        self.rollback_units = [s.name for s in self.slots if not _can_save(s.unit)]
        self.can_roll_back = not self.rollback_units
        self._has_loops = any(type(b) is _Loop for b in self._blocks)
        self._compile = compile
        self._runners: dict[tuple[int, ...], Callable] = {}
        self._fast: list = []
        self.stats: RunStats | None = None
        self.outs: list[Sequence[float]] = [()] * len(self.slots)
        self.ins: list[Sequence[float]] = [()] * len(self.slots)
        self._prev = self.outs

    # ----------------------------------------------------------------- checks
    def _check_connections(self) -> list[str]:
        problems: list[str] = []
        fed: dict[str, str] = {}
        for c in self.connections:
            missing = [u for u in (c.source_unit, c.target_unit) if u not in self.units]
            if missing:
                problems += [
                    f"connection {c.source} -> {c.target}: no unit named {u!r} "
                    f"(units: {', '.join(self.units)})"
                    for u in missing
                ]
                continue
            src = self._ports[c.source_unit].get(c.source_port)
            dst = self._ports[c.target_unit].get(c.target_port)
            ends = check_ends(c, src, dst, list(self._ports[c.source_unit]), list(self._ports[c.target_unit]))
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
            if getattr(self.units[c.target_unit], "steps_ahead", False):
                problems.append(
                    f"connection {c.source} -> {c.target}: unit {c.target_unit!r} is a time source "
                    "and takes no connected inputs"
                )
        return problems

    def _check_rates(self, every: Mapping[str, Any]) -> list[str]:
        problems = []
        for name, spec in every.items():
            if name not in self.units:
                problems.append(f"every: no unit named {name!r}")
                continue
            values = spec.values() if isinstance(spec, Mapping) else [spec]
            for v in values:
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    problems.append(f"every: {name}: step multiple must be an integer >= 1 (got {v!r})")
            if getattr(self.units[name], "steps_ahead", False) and any(v != 1 for v in values):
                problems.append(f"every: {name}: a time source steps at every macro step")
        return problems

    def _check_events(self) -> list[str]:
        problems = []
        for e in self.events:
            unit, _, port = e.signal.partition(".")
            p = self._ports.get(unit, {}).get(port)
            if p is None or p.causality != OUTPUT:
                problems.append(f"event {e.name!r}: {e.signal!r} is not an output of a unit")
        return problems

    def _check_observed(self, observe: list[str]) -> list[str]:
        connected = {c.target for c in self.connections}
        problems = []
        for sig in observe:
            unit, _, port = sig.partition(".")
            p = self._ports.get(unit, {}).get(port)
            if p is None:
                problems.append(f"observed signal {sig!r} is not a port of a unit")
            elif p.causality == INPUT and sig not in connected:
                problems.append(
                    f"observed signal {sig!r} is an input without a connection (it keeps its start value)"
                )
            elif p.causality not in (INPUT, OUTPUT):
                problems.append(f"observed signal {sig!r} is a {p.causality}, not an input or output")
        return problems

    # ------------------------------------------------------------------ order
    def _edges(self) -> list[tuple[str, str]]:
        edges = []
        for c in self.connections:
            if c.delay == 0 and getattr(self.units[c.source_unit], "direct_feedthrough", True):
                edges.append((c.source_unit, c.target_unit))
        return edges

    def _order(self) -> tuple[list[str], list[list[str]]]:
        names = list(self.units)
        # Time sources first: they have no inputs and every other unit may read them.
        names.sort(key=lambda n: not getattr(self.units[n], "steps_ahead", False))
        edges = self._edges()
        comps = graph.strongly_connected(names, edges)
        loops = [c for c in comps if graph.is_loop(c, edges)]
        if loops and self.settings.method == GAUSS_SEIDEL and self.settings.loop is None:
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
        if self.settings.method == JACOBI:
            loops = []
        return order, loops

    def _bind(self, observe: list[str]) -> None:  # noqa: C901 - one pass over ports and connections
        wanted_out: dict[str, list[str]] = {s.name: [] for s in self.slots}

        def want(sig: str) -> None:
            unit, _, port = sig.partition(".")
            if self._ports[unit][port].causality == OUTPUT and port not in wanted_out[unit]:
                wanted_out[unit].append(port)

        for c in self.connections:
            want(c.source)
        for e in self.events:
            want(e.signal)
        for sig in observe:
            want(sig)
        for s in self.slots:
            s.outputs = wanted_out[s.name]
        for s in self.slots:
            conns = [c for c in self.connections if c.target_unit == s.name]
            # Bind order: direct reads, then delayed reads, then means (one list comprehension each).
            groups = {"direct": [], "delayed": [], "mean": []}
            for c in conns:
                kind = "mean" if c.transfer == MEAN else "delayed" if c.delay else "direct"
                groups[kind].append(c)
            for kind, cs in groups.items():
                plan = []
                for c in cs:
                    src = self._slot_of[c.source_unit]
                    g, o = coefficients(
                        c, self._ports[c.source_unit][c.source_port], self._ports[s.name][c.target_port]
                    )
                    plan.append((src.i, src.outputs.index(c.source_port), g, o))
                    s.inputs.append(c.target_port)
                setattr(s, kind, plan)
            s.acc = [0.0] * len(s.mean)
            if self.settings.check_bounds:
                for pos, name in enumerate(s.outputs):
                    p = self._ports[s.name][name]
                    if p.min is not None or p.max is not None:
                        s.bounds.append(
                            (pos, -_INF if p.min is None else p.min, _INF if p.max is None else p.max)
                        )
            s.unit.bind(list(s.inputs), list(s.outputs))

    def _make_blocks(self, loops: list[list[str]]) -> list[_Slot | _Loop]:
        in_loop = {n: loop for loop in loops for n in loop}
        blocks: list[_Slot | _Loop] = []
        done: set[str] = set()
        edges = self._edges()
        for s in self.slots:
            if s.ahead or s.name in done:
                continue
            loop = in_loop.get(s.name)
            if loop is None:
                blocks.append(s)
                continue
            members = [self._slot_of[n] for n in loop]
            done.update(loop)
            rates = {repr(m.every_by_phase) for m in members}
            if len(rates) > 1:
                raise ScenarioError(
                    f"units in the algebraic loop {graph.describe_cycle(loop, edges)} "
                    "must step at the same rate ('every')"
                )
            watch = sorted(
                {
                    (
                        self._slot_of[c.source_unit].i,
                        self._slot_of[c.source_unit].outputs.index(c.source_port),
                    )
                    for c in self.connections
                    if c.source_unit in loop and c.target_unit in loop and c.delay == 0
                }
            )
            cannot = [m.name for m in members if not _can_save(m.unit)]
            cycle = graph.describe_cycle(loop, edges)
            if cannot:
                warnings.warn(
                    f"algebraic loop {cycle}: {', '.join(cannot)} cannot save and restore state, so the "
                    "loop is not iterated; it runs once per macro step, reading the values from the "
                    "start of the step",
                    EvtwinWarning,
                    stacklevel=3,
                )
            blocks.append(_Loop(members, watch, cycle, not cannot))
        return blocks

    # ------------------------------------------------------------------ names
    def locate(self, signal: str) -> tuple[int, str, int]:
        """``(slot index, causality, position)`` of a bound ``unit.port``, for observers."""
        unit, _, port = signal.partition(".")
        s = self._slot_of[unit]
        if port in s.outputs:
            return s.i, OUTPUT, s.outputs.index(port)
        if port in s.inputs:
            return s.i, INPUT, s.inputs.index(port)
        raise KeyError(f"{signal!r} is not bound; pass it in 'observe'")

    def port(self, signal: str) -> Port:
        """The declared :class:`Port` of ``unit.port``."""
        unit, _, port = signal.partition(".")
        return self._ports[unit][port]

    @property
    def order(self) -> list[str]:
        """Unit names in the order Gauss-Seidel steps them."""
        return [s.name for s in self.slots]

    # -------------------------------------------------------------------- run
    def run(
        self,
        timeline: Iterable[Segment],
        *,
        observers: Sequence[Observer] = (),
        progress: Callable[[float], None] | None = None,
    ) -> RunStats:
        """Set up every unit, step them over ``timeline``, and terminate them.

        Parameters
        ----------
        timeline : iterable of Segment
            Contiguous segments; the first one's start is the start time [s].
        observers : sequence of Observer
            Called at every communication point.
        progress : callable or None
            Called now and then with the simulated time [s].

        Returns
        -------
        RunStats
        """
        segments = iter(timeline)
        first = next(segments, None)
        if first is None:
            raise ScenarioError("the timeline is empty: nothing to simulate")
        stats = RunStats(start=first.start, end=first.start)
        self.stats = stats
        self._observers = list(observers)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        try:
            self._setup(first.start)
            for obs in self._observers:
                obs.start(self, first.start)
            self._sample(first.start)
            self._fast = []
            if self._compile and not self._has_loops and not self.events:
                self._fast = [entry for obs in self._observers for entry in obs.fast_sampling()]
            # Observers whose every sample now goes through the fast path need no call per point.
            self._sampled = [obs for obs in self._observers if getattr(obs, "samples_each_point", True)]
            self._warn_events()
            for seg in _chain(first, segments):
                if stats.end != seg.start:
                    raise ScenarioError(
                        f"timeline has a gap or overlap: a segment starts at {seg.start} s, "
                        f"the previous one ended at {stats.end} s"
                    )
                if self._run_segment(seg, stats, progress):
                    break
        finally:
            stats.wall_time = time.perf_counter() - wall0
            stats.cpu_time = time.process_time() - cpu0
            self._terminate()
        if progress is not None:
            progress(stats.end)
        return stats

    def _setup(self, t0: float) -> None:
        for s in self.slots:
            try:
                s.unit.setup(t0)
            except EvtwinError:
                raise
            except Exception as err:
                raise SimulationError(f"set-up failed: {type(err).__name__}: {err}", s.name, t0) from err
            s.t_w, s.count = t0, 0
            # Units may replace their step calls in set-up (the FMU adapter binds C functions): take them now.
            s.set_inputs, s.do_step, s.get_outputs = s.unit.set_inputs, s.unit.do_step, s.unit.get_outputs
        self._runners.clear()
        outs, ins = self.outs, self.ins
        # One pass in execution order so that every unit starts from its sources' initial values.
        for s in self.slots:
            outs[s.i] = s.get_outputs()
        for s in self.slots:
            if s.inputs:
                vals = (
                    [outs[a][b] * g + o for a, b, g, o in s.direct]
                    + [outs[a][b] * g + o for a, b, g, o in s.delayed]
                    + [outs[a][b] * g + o for a, b, g, o in s.mean]
                )
                s.set_inputs(vals)
                ins[s.i] = vals
                outs[s.i] = s.get_outputs()
            self._check(s, outs[s.i], t0)
        self._prev = outs[:]

    def _warn_events(self) -> None:
        if self.events and not self.can_roll_back:
            warnings.warn(
                f"events ({', '.join(e.name for e in self.events)}) are detected at the next "
                "communication point, "
                f"not located exactly: {', '.join(self.rollback_units)} cannot save and restore state",
                EvtwinWarning,
                stacklevel=3,
            )

    def _terminate(self) -> None:
        first_error = None
        for s in self.slots:
            try:
                s.unit.terminate()
            except Exception as err:  # one unit failing to clean up must not keep the others from it
                first_error = first_error or err
        if first_error is not None and not isinstance(first_error, EvtwinError):
            warnings.warn(f"terminate failed: {first_error}", EvtwinWarning, stacklevel=3)

    def _sample(self, t: float) -> None:
        for obs in self._observers:
            obs.sample(t, self.outs, self.ins)

    def _run_segment(self, seg: Segment, stats: RunStats, progress) -> bool:
        """Step one segment; True when an event stopped the run."""
        for s in self.slots:
            s.every = (
                s.every_by_phase if isinstance(s.every_by_phase, int) else s.every_by_phase.get(seg.phase, 1)
            )
            s.count = 0
        self._plan = [
            s
            if type(s) is _Loop
            else (
                s,
                s.i,
                s.every,
                s.direct,
                s.delayed,
                s.mean,
                s.acc,
                s.set_inputs,
                s.do_step,
                s.get_outputs,
                bool(s.bounds),
                bool(s.inputs),
            )
            for s in self._blocks
        ]
        if self.events:
            return self._run_segment_events(seg, stats, progress)
        if self._compile and not self._has_loops:
            return self._run_segment_compiled(seg, stats, progress)
        start, h, stop = seg.start, seg.step, seg.stop
        n = seg.n_steps()
        step = self._macro_step
        observers = self._observers
        outs, ins = self.outs, self.ins
        done = stats.steps
        for k in range(n - 1):
            t_end = start + (k + 1) * h
            t = start + k * h
            step(t, t_end - t, False)
            for obs in observers:
                obs.sample(t_end, outs, ins)
            if progress is not None and not (done + k + 1) & 0xFFF:
                progress(t_end)
        t = start + (n - 1) * h
        step(t, stop - t, True)
        for obs in observers:
            obs.sample(stop, outs, ins)
        stats.steps = done + n
        stats.end = stop
        return False

    def _run_segment_compiled(self, seg: Segment, stats: RunStats, progress) -> bool:
        from cosim.compiled import build_segment_runner

        everies = tuple(s.every for s in self.slots)
        run = self._runners.get(everies)
        if run is None:
            run = build_segment_runner(
                self.slots,
                self._ahead,
                self._blocks,
                self._jacobi,
                everies,
                self._watched_out,
                self._watched_in,
                self._fast,
            )
            self._runners[everies] = run
        n = seg.n_steps()
        try:
            run(
                seg.start,
                seg.step,
                n,
                seg.stop,
                self.outs,
                self.ins,
                self._sampled,
                progress,
                stats.steps,
                self._check_index,
            )
        except EvtwinError:
            raise
        except Exception as err:
            cur = getattr(err, "__cosim_unit__", -1)
            t_end = getattr(err, "__cosim_time__", None)
            name = self.slots[cur].name if cur >= 0 else None
            raise SimulationError(f"do_step failed: {type(err).__name__}: {err}", name, t_end) from err
        for s in self.slots:
            s.t_w, s.count = seg.stop, 0
        stats.steps += n
        stats.end = seg.stop
        return False

    def _check_index(self, i: int, values: Sequence[float], t: float) -> None:
        self._check(self.slots[i], values, t)

    def _run_segment_events(self, seg: Segment, stats: RunStats, progress) -> bool:
        start, h, stop = seg.start, seg.step, seg.stop
        n = seg.n_steps()
        k = 0
        rollback = self.can_roll_back
        observers = self._observers
        while k < n:
            t = start + k * h
            t_end = stop if k == n - 1 else start + (k + 1) * h
            before = self._event_values()
            saved = self._save() if rollback else None
            self._macro_step(t, t_end - t, k == n - 1)
            stats.steps += 1
            fired = self._crossed(before)
            located = False
            if fired and rollback and t_end - t > self.settings.event_tolerance:
                t_end, fired = self._locate(saved, before, t, t_end - t, stats)
                located = True
            for obs in observers:
                obs.sample(t_end, self.outs, self.ins)
            stats.end = t_end
            for e in fired:
                stats.events.append((t_end, e.name))
                for obs in observers:
                    obs.event(t_end, e.name)
            stop_event = next((e for e in fired if e.stop), None)
            if stop_event is not None:
                stats.stopped_by = stop_event.name
                return True
            if located and t_end < stop:
                # A new grid from the event, so that communication points stay start + k*h.
                start, k = t_end, 0
                n = Segment(start, stop, h).n_steps()
            else:
                k += 1
            if progress is not None and not stats.steps & 0xFFF:
                progress(t_end)
        stats.end = stop
        return False

    # ----------------------------------------------------------- macro step
    # The interpreter's hot path: inlined on purpose (a helper call per unit and step costs more).
    def _macro_step(self, t: float, h: float, sync: bool) -> None:  # noqa: C901
        outs = self.outs
        t_end = t + h
        slot = None
        try:
            for slot in self._ahead:
                slot.do_step(t, h)
                o = slot.get_outputs()
                outs[slot.i] = o
                total = sum(o)
                if total - total != 0.0 or slot.bounds:
                    self._check(slot, o, t_end)
            if self._need_prev:
                self._prev = outs[:]
            prev = self._prev
            src = prev if self._jacobi else outs
            ins = self.ins
            for entry in self._plan:
                if type(entry) is _Loop:
                    slot = entry
                    self._loop_step(entry, src, prev, t, h, sync)
                    continue
                slot, i, every, direct, delayed, mean, acc, set_inputs, do_step, get_outputs, bounded, fed = (
                    entry
                )
                if mean:
                    for j, (a, b, _, _) in enumerate(mean):
                        acc[j] += src[a][b] * h
                if every != 1 and not sync:
                    slot.count += 1
                    if slot.count < every:
                        continue
                    slot.count = 0
                if fed:
                    vals = [src[a][b] * g + o for a, b, g, o in direct]
                    if delayed:
                        vals += [prev[a][b] * g + o for a, b, g, o in delayed]
                    if mean:
                        vals += self._means(slot, t_end)
                    set_inputs(vals)
                    ins[i] = vals
                t_w = slot.t_w
                do_step(t_w, t_end - t_w)
                o = get_outputs()
                outs[i] = o
                total = sum(o)
                if total - total != 0.0 or bounded:
                    self._check(slot, o, t_end)
                slot.t_w = t_end
            if sync:
                for slot in self.slots:
                    slot.count = 0
        except EvtwinError:
            raise
        except Exception as err:
            name = slot.name if slot is not None else None
            raise SimulationError(f"do_step failed: {type(err).__name__}: {err}", name, t_end) from err

    def _means(self, slot: _Slot, t_end: float) -> list[float]:
        span = t_end - slot.t_w
        acc = slot.acc
        vals = [acc[j] / span * g + o for j, (_, _, g, o) in enumerate(slot.mean)]
        for j in range(len(acc)):
            acc[j] = 0.0
        return vals

    def _step_one(self, slot: _Slot, src: list, prev: list, t_end: float) -> None:
        if slot.inputs:
            vals = [src[a][b] * g + o for a, b, g, o in slot.direct]
            vals += [prev[a][b] * g + o for a, b, g, o in slot.delayed]
            vals += [acc / (t_end - slot.t_w) * g + o for acc, (_, _, g, o) in zip(slot.acc, slot.mean)]
            slot.set_inputs(vals)
            self.ins[slot.i] = vals
        slot.do_step(slot.t_w, t_end - slot.t_w)
        o = slot.get_outputs()
        self.outs[slot.i] = o
        self._check(slot, o, t_end)

    def _loop_step(self, loop: _Loop, src: list, prev: list, t: float, h: float, sync: bool) -> None:
        t_end = t + h
        for slot in loop.slots:
            for j, (a, b, _, _) in enumerate(slot.mean):
                slot.acc[j] += src[a][b] * h
            slot.count += 1
        lead = loop.slots[0]
        if lead.count < lead.every and not sync:
            return
        solver = self.settings.loop
        if not loop.can_iterate or solver is None:
            for slot in loop.slots:
                self._step_one(slot, src, prev, t_end)
        else:
            states = [s.unit.save_state() for s in loop.slots]
            outs = self.outs
            residual = _INF
            for _ in range(solver.max_iterations):
                used = [outs[i][p] for i, p in loop.watch]
                for slot in loop.slots:
                    self._step_one(slot, src, prev, t_end)
                new = [outs[i][p] for i, p in loop.watch]
                residual = max((abs(a - b) / max(1.0, abs(a)) for a, b in zip(new, used)), default=0.0)
                if residual <= solver.tolerance:
                    break
                for s, st in zip(loop.slots, states):
                    s.unit.restore_state(st)
            else:
                raise SimulationError(
                    f"algebraic loop {loop.cycle}: fixed-point iteration did not converge in "
                    f"{solver.max_iterations} iterations (relative change {residual:.3g} > "
                    f"tolerance {solver.tolerance:g}); raise max_iterations, loosen the "
                    "tolerance, or add 'delay: 1' to a connection of the loop",
                    None,
                    t_end,
                )
        for slot in loop.slots:
            for j in range(len(slot.acc)):
                slot.acc[j] = 0.0
            slot.t_w = t_end
            slot.count = 0

    def _check(self, slot: _Slot, values: Sequence[float], t: float) -> None:
        for pos, v in enumerate(values):
            if not math.isfinite(v):
                raise SimulationError(f"output {slot.outputs[pos]!r} is {v} (not finite)", slot.name, t)
        for pos, lo, hi in slot.bounds:
            v = values[pos]
            if not lo <= v <= hi:
                port = self._ports[slot.name][slot.outputs[pos]]
                unit = "" if port.unit in ("1", "") else f" {port.unit}"
                raise SimulationError(
                    f"output {port.name!r} = {v:g}{unit} is outside its range [{lo:g}, {hi:g}]{unit}; "
                    "the unit's state or its inputs went out of the range it declares",
                    slot.name,
                    t,
                )

    # ---------------------------------------------------------------- events
    def _event_values(self) -> list[float]:
        outs = self.outs
        return [outs[i][p] for i, p in self._event_at]

    def _crossed(self, before: list[float]) -> list[Event]:
        fired = []
        for e, old, new in zip(self.events, before, self._event_values()):
            if e.above is not None and old < e.above <= new:
                fired.append(e)
            elif e.below is not None and old > e.below >= new:
                fired.append(e)
        return fired

    def _save(self) -> tuple:
        return (
            [s.unit.save_state() for s in self.slots],
            self.outs[:],
            self.ins[:],
            self._prev[:],
            [(s.count, s.t_w, s.acc[:]) for s in self.slots],
        )

    def _restore(self, saved: tuple) -> None:
        states, outs, ins, prev, windows = saved
        for s, st, (count, t_w, acc) in zip(self.slots, states, windows):
            s.unit.restore_state(st)
            s.count, s.t_w, s.acc = count, t_w, acc[:]
        self.outs[:] = outs
        self.ins[:] = ins
        self._prev = prev[:]

    def _locate(
        self, saved: tuple, before: list[float], t: float, h: float, stats: RunStats
    ) -> tuple[float, list[Event]]:
        """Redo the step ``[t, t + h]`` shorter until an event is bracketed within the tolerance.

        Regula falsi (Illinois) on the first event's distance to its threshold, safeguarded by
        bisection; the master ends on the side where the event has fired.
        """
        tol = self.settings.event_tolerance
        index = self._crossed_index(before)
        lo, hi = 0.0, h
        g_lo, g_hi = self._distance(index, before[index]), self._distance(index, self._event_values()[index])
        fired_hi = self._crossed(before)
        side = 0
        at_hi = True
        for _ in range(100):
            if hi - lo <= tol:
                break
            trial = hi - g_hi * (hi - lo) / (g_hi - g_lo) if g_hi != g_lo else 0.5 * (lo + hi)
            if not lo + 0.05 * (hi - lo) <= trial <= hi - 0.05 * (hi - lo):
                trial = 0.5 * (lo + hi)
            self._restore(saved)
            self._macro_step(t, trial, True)
            stats.rejected += 1
            fired = self._crossed(before)
            g = self._distance(index, self._event_values()[index])
            if fired:
                hi, g_hi, fired_hi, at_hi = trial, g, fired, True
                if side == 1:
                    g_lo *= 0.5
                side = 1
            else:
                lo, g_lo, at_hi = trial, g, False
                if side == -1:
                    g_hi *= 0.5
                side = -1
        if not at_hi:
            self._restore(saved)
            self._macro_step(t, hi, True)
            fired_hi = self._crossed(before) or fired_hi
        return t + hi, fired_hi

    def _crossed_index(self, before: list[float]) -> int:
        fired = self._crossed(before)
        return self.events.index(fired[0])

    def _distance(self, index: int, value: float) -> float:
        e = self.events[index]
        return value - e.above if e.above is not None else e.below - value


def _chain(first: Segment, rest: Iterable[Segment]):
    yield first
    yield from rest

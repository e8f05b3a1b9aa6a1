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
from typing import Any

from cosim.connection import Connection
from cosim.errors import EvtwinError, EvtwinWarning, ScenarioError, SimulationError, UnitEnded
from cosim.master import slots, wiring
from cosim.master.compiled import CompiledSegments
from cosim.master.cursor import PointStepping
from cosim.master.events import EventLocation
from cosim.master.initial import end_initialization, initial_values, record_unit_end
from cosim.master.loops import LoopIteration
from cosim.master.observer import Observer, RunStats
from cosim.master.settings import JACOBI, Event, MasterSettings, engine
from cosim.master.slots import Loop, Slot
from cosim.timeline import Segment
from cosim.unit import INPUT, OUTPUT, Port, Unit

_INF = math.inf


class Master(EventLocation, LoopIteration, CompiledSegments, PointStepping):
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
    compile : bool or None
        Run segments without events or loops through generated straight-line code
        (:mod:`cosim.master.compiled`); ``False`` keeps the interpreter (same results, slower).
    native : bool or None
        Run such segments in C (:mod:`cosim.master.native`) when every unit offers a compiled step
        (FMI 2.0 FMUs) and no observer needs each point in Python; ``False`` keeps the Python loop.
        ``None`` (both): as ``$EVTWIN_ENGINE`` says (:func:`~cosim.master.settings.engine`).

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
        compile: bool | None = None,
        native: bool | None = None,
    ):
        self.settings = settings or MasterSettings()
        compile, native = engine(compile, native)
        self.units = dict(units)
        self.connections = list(connections)
        self.events = list(events)
        problems = wiring.unit_problems(self.units)
        if problems:
            raise ScenarioError(problems)
        for name, unit in self.units.items():
            unit.name = name
        self._ports = {name: {p.name: p for p in unit.ports()} for name, unit in self.units.items()}
        problems = wiring.check_connections(self.connections, self.units, self._ports)
        problems += wiring.check_rates(self.units, every or {})
        problems += wiring.check_events(self._ports, self.events)
        observe = list(observe)
        problems += wiring.check_observed(self._ports, self.connections, observe)
        if problems:
            raise ScenarioError(problems)
        order, loops = wiring.execution_order(self.units, self.connections, self.settings)
        self.slots = [Slot(i, name, self.units[name]) for i, name in enumerate(order)]
        self._slot_of = {s.name: s for s in self.slots}
        for s in self.slots:
            s.every_by_phase = (every or {}).get(s.name, 1)
        slots.bind(
            self.slots, self._ports, self.connections, self.events, observe, self.settings.check_bounds
        )
        located = [self.locate(sig) for sig in observe]
        self._watched_out = {i for i, causality, _ in located if causality == OUTPUT}
        self._watched_in = {i for i, causality, _ in located if causality == INPUT}
        self._blocks = slots.blocks(self.slots, self.units, self.connections, loops)
        # Static units (constants) are set up and read once; stepping them would change nothing.
        self._ahead = [s for s in self.slots if s.ahead and not s.unit.static]
        self._event_at = [self.locate(e.signal)[::2] for e in self.events]
        self._jacobi = self.settings.method == JACOBI
        self._need_prev = self._jacobi or any(s.delayed for s in self.slots)
        self.rollback_units = [s.name for s in self.slots if not s.unit.can_save_state]
        self.initial_passes = 0  # passes through the connections the initial values took (set in set-up)
        self.can_roll_back = not self.rollback_units
        self._has_loops = any(type(b) is Loop for b in self._blocks)
        self._compile = compile
        self._runners: dict[tuple[int, ...], Callable] = {}
        self._native = native
        self._cores: dict[tuple[int, ...], Any] = {}
        self._fast: list = []
        self.stats: RunStats | None = None
        self.outs: list[Sequence[float]] = [()] * len(self.slots)
        self.ins: list[Sequence[float]] = [()] * len(self.slots)
        self._prev = self.outs

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
            self._begin(first.start)
            try:
                for seg in _chain(first, segments):
                    if stats.end != seg.start:
                        raise ScenarioError(
                            f"timeline has a gap or overlap: a segment starts at {seg.start} s, "
                            f"the previous one ended at {stats.end} s"
                        )
                    if self._run_segment(seg, stats, progress):
                        break
            except UnitEnded as ended:
                self._ended(ended, stats)
        finally:
            stats.wall_time = time.perf_counter() - wall0
            stats.cpu_time = time.process_time() - cpu0
            self._terminate()
        if progress is not None:
            progress(stats.end)
        return stats

    def _begin(self, t0: float, fast: bool = True) -> None:
        """Set every unit up at ``t0`` [s], start the observers and take the first sample.

        ``fast``: let observers hand their samples to the generated loop (a run that goes through
        :meth:`run`); the interactive :class:`~cosim.simulation.Simulation` asks for every sample.
        """
        self._setup(t0)
        for obs in self._observers:
            obs.start(self, t0)
        self._sample(t0)
        self._fast = []
        if fast and self._compile and not self._has_loops and not self.events:
            self._fast = [entry for obs in self._observers for entry in obs.fast_sampling()]
        # Observers whose every sample now goes through the fast path need no call per point.
        self._sampled = [obs for obs in self._observers if getattr(obs, "samples_each_point", True)]
        self._warn_events()

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
        self._cores.clear()
        outs = self.outs
        loop = self.settings.loop
        self.initial_passes = initial_values(self.slots, outs, self.ins, t0, loop.tolerance if loop else 1e-9)
        end_initialization(self.slots, outs, t0, self._check)
        self._prev = outs[:]

    def _ended(self, ended: UnitEnded, stats: RunStats) -> None:
        record_unit_end(self._slot_of[ended.unit], ended, stats, self)

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
        self._enter_segment(seg)
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

    def _enter_segment(self, seg: Segment) -> None:
        """Each unit's step multiple in ``seg``'s phase, windows restarted, and the plan the step walks."""
        for s in self.slots:
            s.every = (
                s.every_by_phase if isinstance(s.every_by_phase, int) else s.every_by_phase.get(seg.phase, 1)
            )
            s.count = 0
        self._plan = [
            s
            if type(s) is Loop
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
                if type(entry) is Loop:
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

    _means = staticmethod(slots.means)

    def _check(self, slot: Slot, values: Sequence[float], t: float) -> None:
        slots.check_outputs(slot, values, t, self._ports[slot.name])


def _chain(first: Segment, rest: Iterable[Segment]):
    yield first
    yield from rest

"""An interactive simulation: step, look, change, step again, from Python or a notebook.

:class:`Simulation` wraps a scenario (a file, or a checked :class:`~cosim.scenario.plan.Plan`) or any
:class:`~cosim.master.Master`: :meth:`~Simulation.step` and :meth:`~Simulation.step_until` advance
it between communication points with exactly the semantics of ``evtwin run`` (the same macro step,
step multiples that a pause does not restart, events located as in a run), :meth:`~Simulation.get`
and :meth:`~Simulation.set` read and change ports and parameters between steps,
:meth:`~Simulation.save` and :meth:`~Simulation.restore` go back in time where every unit can save
its state, :meth:`~Simulation.reset` starts over, and :attr:`~Simulation.results` hold what was
recorded so far (numpy arrays; :meth:`~Simulation.dataframe` for pandas).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.errors import EvtwinError, ScenarioError, UnitEnded
from cosim.master import Master, Observer, RunStats
from cosim.master.cursor import Cursor
from cosim.timeline import Segment
from cosim.unit import INPUT, OUTPUT, PARAMETER


class Recorder(Observer):
    """Keeps the values of ``signals`` at every communication point, in memory."""

    def __init__(self, signals: Sequence[str]):
        self.signals = list(signals)
        self.rows: list[tuple[float, ...]] = []
        self._at: list[tuple[int, bool, int]] = []

    def start(self, master: Master, t0: float) -> None:
        located = [master.locate(s) for s in self.signals]
        self._at = [(i, causality == OUTPUT, pos) for i, causality, pos in located]

    def sample(self, t: float, outs: list, ins: list) -> None:
        self.rows.append((t, *[(outs if out else ins)[i][pos] for i, out, pos in self._at]))


@dataclass(frozen=True)
class Snapshot:
    """A point :meth:`Simulation.restore` returns to: the units' states, where the run stood, rows kept."""

    master: Master
    state: tuple
    segment: int
    cursor: tuple[float, int, int, float | None]
    stats: RunStats
    rows: int
    done: bool


class Simulation:
    """A scenario (or a master) stepped interactively.

    Parameters
    ----------
    scenario : str, Path or Plan
        A scenario file, or a plan from :func:`cosim.scenario.check`.
    duration : float, optional
        Simulated time [s] instead of the scenario's.
    record : sequence of str, optional
        ``unit.port`` signals to keep at every communication point; by default the scenario's
        recorded and summarised signals.

    The units are set up by the first :meth:`step`, :meth:`step_until`, :meth:`get` or :meth:`save`;
    until then :meth:`set` changes parameters as the scenario's ``parameters:`` would.

    Examples
    --------
    >>> sim = Simulation("scenarios/quickstart.yaml")          # doctest: +SKIP
    >>> sim.step_until(8 * 3600); sim.get("battery.SOC")        # doctest: +SKIP
    """

    def __init__(self, scenario: Any, *, duration: float | None = None, record: Sequence[str] | None = None):
        from cosim.scenario import Plan, build_master, check, segments

        plan = scenario if isinstance(scenario, Plan) else check(Path(scenario), duration=duration)
        extra = list(record or ())
        self._make = lambda: build_master(plan, observe=extra)
        self._timeline = lambda: segments(plan, duration)
        self._record = list(record) if record is not None else plan.observed
        self._fresh()

    @classmethod
    def from_master(
        cls,
        make_master: Callable[[], Master],
        timeline: Iterable[Segment] | Callable[[], Iterable[Segment]],
        *,
        record: Sequence[str] | None = None,
    ) -> Simulation:
        """A simulation of the master ``make_master()`` builds, over ``timeline``.

        ``make_master`` is called again by :meth:`reset`. ``record`` defaults to every bound output
        (the signals connections, events and ``observe`` use).
        """
        sim = cls.__new__(cls)
        sim._make = make_master
        segs = list(timeline) if not callable(timeline) else None
        sim._timeline = timeline if segs is None else (lambda: segs)
        sim._record = record
        sim._fresh()
        return sim

    def _fresh(self) -> None:
        self.master = self._make()
        record = self._record
        if record is None:
            record = [f"{s.name}.{o}" for s in self.master.slots for o in s.outputs]
        self._recorder = Recorder(record)
        self.master._observers = [self._recorder]
        self._segments = iter(self._timeline())
        self._seen: list[Segment] = []
        self._index = -1
        self._cursor: Cursor | None = None
        self.stats: RunStats | None = None
        self._started = self._done = self._closed = False
        self._failed: str | None = None
        self._setup_values: dict[str, Any] = {}  # set() before the first step, which reset() sets again

    # ------------------------------------------------------------------ state of the run
    @property
    def time(self) -> float:
        """The current communication point [s] (the start time before the first step)."""
        if self.stats is not None:
            return self.stats.end
        first = self._segment(0)
        return first.start if first is not None else math.nan

    @property
    def done(self) -> bool:
        """True when the timeline is stepped to its end, or an event or a unit ended the run."""
        return self._done

    @property
    def signals(self) -> list[str]:
        """The recorded signals, in the order of :attr:`results` after ``time``."""
        return list(self._recorder.signals)

    # ------------------------------------------------------------------ stepping
    def step(self, n: int = 1) -> float:
        """Take ``n`` macro steps; the time reached [s].

        Raises
        ------
        EvtwinError
            When the run has already reached its end.
        """
        self._ready()
        for _ in range(n):
            if not self._advance(math.inf, whole=False):
                raise EvtwinError(f"the simulation has ended at {self.time:g} s; reset() to start again")
        return self.time

    def step_until(self, t: float) -> float:
        """Step to ``t`` [s] (or the end); the time reached [s].

        Whole segments ahead are run through the master's generated loop, as in ``evtwin run``. When
        ``t`` falls between two communication points, the macro step across it is cut at ``t`` (every
        unit steps to ``t``, as at the end of a segment) and the next step goes on to the grid point it
        cut short, as FMPy ends a run at its stop time; with a unit that cannot vary its step (an FMU
        without ``canHandleVariableCommunicationStepSize``) the run stops at the last point before ``t``.
        """
        self._ready()
        slack = 1e-9 * max(1.0, abs(t))
        while self._advance(t + slack, whole=True):
            pass
        if not self._done and self.time < t - slack and self._can_cut():
            self._advance(math.inf, whole=False, until=t)
        return self.time

    def _can_cut(self) -> bool:
        return all(s.unit.can_vary_step for s in self.master.slots)

    def run(self) -> float:
        """Step to the end of the timeline; the end time [s]."""
        return self.step_until(math.inf)

    def _advance(self, limit: float, whole: bool, until: float | None = None) -> bool:
        """One macro step (with ``whole``: a whole segment) ending at or before ``limit``, cut at
        ``until`` [s] when that comes first; False if none."""
        if self._done:
            return False
        cur = self._cursor
        if cur is None or cur.done:
            if not self._enter(self._index + 1):
                self._done = True
                return False
            cur = self._cursor
        if cur.next_time() > limit:
            return False
        master, stats = self.master, self.stats
        try:
            fresh = cur.k == 0 and cur.start == cur.seg.start and cur.at is None
            if whole and fresh and cur.seg.stop <= limit and not master.events:
                master._run_segment(cur.seg, stats, None)
                cur.k = cur.n
                stopped = False
            else:
                stopped = master._point(cur, stats, until)
        except UnitEnded as ended:
            master._ended(ended, stats)
            stopped = True
        except BaseException as err:
            self._failed = str(err)
            raise
        if stopped:
            self._done = True
        return True

    def _segment(self, index: int) -> Segment | None:
        while len(self._seen) <= index:
            seg = next(self._segments, None)
            if seg is None:
                return None
            self._seen.append(seg)
        return self._seen[index]

    def _enter(self, index: int) -> bool:
        seg = self._segment(index)
        if seg is None:
            return False
        if self.stats is not None and self.stats.end != seg.start:
            raise ScenarioError(
                f"timeline has a gap or overlap: a segment starts at {seg.start} s, "
                f"the previous one ended at {self.stats.end} s"
            )
        self._index = index
        self.master._enter_segment(seg)
        self._cursor = Cursor(seg)
        return True

    def _ready(self) -> None:
        if self._closed:
            raise EvtwinError("the simulation is closed")
        if self._failed is not None:
            raise EvtwinError(f"the simulation failed ({self._failed}); reset() to start again")
        if self._started:
            return
        first = self._segment(0)
        if first is None:
            raise ScenarioError("the timeline is empty: nothing to simulate")
        self.stats = RunStats(start=first.start, end=first.start)
        self.master.stats = self.stats
        try:
            self.master._begin(first.start, fast=False)
        except BaseException:
            self.master._terminate()
            self._closed = True
            raise
        self._started = True

    # ------------------------------------------------------------------ values
    def get(self, signal: str) -> Any:
        """The value of ``unit.port`` (output, input or parameter) now, in the port's unit."""
        unit, port = self._port(signal)
        self._ready()
        try:
            i, causality, pos = self.master.locate(signal)
        except KeyError:
            return self.master.units[unit].read(port.name)
        return (self.master.outs if causality == OUTPUT else self.master.ins)[i][pos]

    def set(self, signal: str, value: Any) -> None:
        """Set input or parameter ``unit.port`` (in the port's unit); it takes effect from the next step.

        Raises
        ------
        ValueError
            For an output, an input fed by a connection, or a parameter the unit fixes once set up.
        """
        unit, port = self._port(signal)
        if port.causality == OUTPUT:
            raise ValueError(f"{signal} is an output: the unit computes it")
        feeding = [c.source for c in self.master.connections if c.target == signal]
        if feeding:
            raise ValueError(f"{signal} is fed by {feeding[0]}: set that, or leave the input unconnected")
        target = self.master.units[unit]
        if not self._started:
            self._setup_values[signal] = value
        if not self._started and port.causality == PARAMETER:
            target.configure({port.name: value})
        else:
            target.write(port.name, value)

    def _port(self, signal: str):
        unit, dot, name = signal.partition(".")
        ports = self.master._ports
        if not dot or unit not in ports:
            raise KeyError(f"{signal!r}: no unit {unit!r}; units: {', '.join(ports)}")
        if name not in ports[unit]:
            raise KeyError(f"{signal!r}: unit {unit!r} has no port {name!r}; ports: {', '.join(ports[unit])}")
        port = ports[unit][name]
        assert port.causality in (INPUT, OUTPUT, PARAMETER)
        return unit, port

    # ------------------------------------------------------------------ going back
    def save(self) -> Snapshot:
        """The current point, for :meth:`restore`.

        Raises
        ------
        NotImplementedError
            Naming the units that cannot save their state.
        """
        self._ready()
        master = self.master
        if not master.can_roll_back:
            raise NotImplementedError(
                f"cannot save the simulation: {', '.join(master.rollback_units)} cannot save their state"
            )
        cur = self._cursor
        where = (cur.start, cur.k, cur.n, cur.at) if cur is not None else (math.nan, 0, 0, None)
        stats = RunStats(**{**vars(self.stats), "events": list(self.stats.events)})
        rows = len(self._recorder.rows)
        return Snapshot(master, master._save(), self._index, where, stats, rows, self._done)

    def restore(self, snapshot: Snapshot) -> None:
        """Return to a point :meth:`save` took (since the last :meth:`reset`); later results are dropped."""
        if snapshot.master is not self.master or not self._started:
            raise ValueError("that snapshot is of another simulation, or of this one before a reset()")
        if self._failed is not None:
            raise EvtwinError(f"the simulation failed ({self._failed}); reset() to start again")
        master = self.master
        self._cursor = None
        if snapshot.segment >= 0:
            seg = self._seen[snapshot.segment]
            master._enter_segment(seg)
            self._cursor = Cursor(seg, *snapshot.cursor)
        self._index = snapshot.segment
        master._restore(snapshot.state)
        for field_name, value in vars(snapshot.stats).items():
            setattr(self.stats, field_name, list(value) if field_name == "events" else value)
        del self._recorder.rows[snapshot.rows :]
        self._done = snapshot.done

    def reset(self, *, keep_settings: bool = True) -> None:
        """Start over: the units are built again as the scenario (or ``make_master``) gives them.

        With ``keep_settings`` (the default) the values :meth:`set` changed before the first step are set
        again: they are the run's set-up, as a changed parameter stays changed when a tool runs its model
        again. Values set while the run went on belong to that run and are forgotten. ``keep_settings=False``
        starts from the scenario as written.
        """
        kept = dict(self._setup_values) if keep_settings else {}
        self.close()
        self._fresh()
        for signal, value in kept.items():
            self.set(signal, value)

    def close(self) -> None:
        """Terminate the units. Safe to call more than once."""
        if not self._closed:
            self._closed = True
            self.master._terminate()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ results
    @property
    def results(self) -> dict[str, Any]:
        """``{"time": array, signal: array, ...}`` of every communication point so far (numpy arrays)."""
        import numpy as np

        rows = np.array(self._recorder.rows, dtype=float).reshape(-1, 1 + len(self._recorder.signals))
        names = ["time", *self._recorder.signals]
        return {name: rows[:, j].copy() for j, name in enumerate(names)}

    def dataframe(self):
        """The results as a pandas DataFrame indexed by time [s] (pandas must be installed)."""
        import pandas as pd

        data = self.results
        return pd.DataFrame(data).set_index("time")

    def __repr__(self) -> str:
        state = "done" if self._done else "ready" if self._started else "not started"
        return f"<Simulation at t={self.time:g} s, {self.stats.steps if self.stats else 0} steps, {state}>"

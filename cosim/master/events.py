"""Events: threshold crossings the master detects at communication points and, when every unit can
save its state, locates within ``event_tolerance`` by rolling the macro step back and redoing it shorter.
"""

from __future__ import annotations

import warnings

from cosim import run_warnings
from cosim.errors import EvtwinWarning
from cosim.master.cursor import Cursor
from cosim.master.observer import RunStats
from cosim.master.settings import Event
from cosim.timeline import Segment


class EventLocation:
    """The event half of :class:`~cosim.master.Master`: segments with events, rollback, location.

    Uses the master's ``events``, ``slots``, ``outs``, ``ins``, ``settings`` and ``_macro_step``.
    """

    def _warn_events(self) -> None:
        if self.events and not self.can_roll_back:
            message = run_warnings.events_not_located([e.name for e in self.events], self.rollback_units)
            warnings.warn(message, EvtwinWarning, stacklevel=3)

    def _run_segment_events(self, seg: Segment, stats: RunStats, progress) -> bool:
        cur = Cursor(seg)
        while cur.k < cur.n:
            if self._event_point(cur, stats, progress):
                return True
        stats.end = seg.stop
        return False

    def _event_point(self, cur: Cursor, stats: RunStats, progress, until: float | None = None) -> bool:
        """One macro step at ``cur`` (cut at ``until`` [s] when that comes first) with event detection
        (and location); True when an event stops the run."""
        h, stop = cur.seg.step, cur.seg.stop
        t = cur.step_start()
        t_end, sync = cur.step_end(until)
        before = self._event_values()
        saved = self._save() if self.can_roll_back else None
        self._macro_step(t, t_end - t, sync)
        stats.steps += 1
        fired = self._crossed(before)
        located = False
        if fired and saved is not None and t_end - t > self.settings.event_tolerance:
            t_end, fired = self._locate(saved, before, t, t_end - t, stats)
            located = True
        for obs in self._observers:
            obs.sample(t_end, self.outs, self.ins)
        stats.end = t_end
        for e in fired:
            stats.events.append((t_end, e.name))
            for obs in self._observers:
                obs.event(t_end, e.name)
        stop_event = next((e for e in fired if e.stop), None)
        if stop_event is not None:
            stats.stopped_by = stop_event.name
            return True
        if located and t_end < stop:
            # A new grid from the event, so that communication points stay start + k*h.
            cur.start, cur.k, cur.at = t_end, 0, None
            cur.n = Segment(t_end, stop, h).n_steps()
        else:
            cur.moved_to(t_end)
        if progress is not None and not stats.steps & 0xFFF:
            progress(t_end)
        return False

    def _event_values(self) -> list[float]:
        outs = self.outs
        return [outs[i][p] for i, p in self._event_at]

    def _crossed(self, before: list[float]) -> list[Event]:
        fired = []
        for e, old, new in zip(self.events, before, self._event_values(), strict=True):
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
        for s, st, (count, t_w, acc) in zip(self.slots, states, windows, strict=True):
            s.unit.restore_state(st)
            s.count, s.t_w = count, t_w
            s.acc[:] = acc  # in place: the segment's step plan holds this list
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

"""Algebraic loops within a macro step: stepped once, or iterated to a fixed point from saved states."""

from __future__ import annotations

import math

from cosim.errors import SimulationError
from cosim.master.slots import Loop, Slot

_INF = math.inf


class LoopIteration:
    """The loop half of :class:`~cosim.master.Master`: steps a :class:`~cosim.master.slots.Loop` block.

    Uses the master's ``settings``, ``outs``, ``ins`` and ``_check``.
    """

    def _step_one(self, slot: Slot, src: list, prev: list, t_end: float) -> None:
        if slot.inputs:
            vals = [src[a][b] * g + o for a, b, g, o in slot.direct]
            vals += [prev[a][b] * g + o for a, b, g, o in slot.delayed]
            vals += [
                acc / (t_end - slot.t_w) * g + o
                for acc, (_, _, g, o) in zip(slot.acc, slot.mean, strict=True)
            ]
            slot.set_inputs(vals)
            self.ins[slot.i] = vals
        slot.do_step(slot.t_w, t_end - slot.t_w)
        o = slot.get_outputs()
        self.outs[slot.i] = o
        self._check(slot, o, t_end)

    def _loop_step(self, loop: Loop, src: list, prev: list, t: float, h: float, sync: bool) -> None:
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
                residual = max(
                    (abs(a - b) / max(1.0, abs(a)) for a, b in zip(new, used, strict=True)), default=0.0
                )
                if residual <= solver.tolerance:
                    break
                for s, st in zip(loop.slots, states, strict=True):
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

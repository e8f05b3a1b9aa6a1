"""A check that restoring a unit's saved state brings back everything that decides its future."""

from cosim.master import Observer


class Detour(Observer):
    """At ``t_save`` saves the battery's and the charger's states, steps both on by themselves for
    ``steps`` steps of ``h`` [s] (the charger deciding, the battery charging), and restores the saved
    states: the run must continue as if nothing happened, or the state left something out."""

    def __init__(self, t_save, h, steps=60):
        self.t_save, self.h, self.steps = t_save, h, steps

    def start(self, master, t0):
        self.units = [master.units["charger"], master.units["battery"]]

    def sample(self, t, outs, ins):
        if t != self.t_save:
            return
        saved = [u.save_state() for u in self.units]
        for k in range(self.steps):
            for unit in self.units:
                unit.do_step(t + k * self.h, self.h)
        for unit, state in zip(self.units, saved):
            unit.restore_state(state)

"""A pythonfmu test model: an integrator (y' = u) that can fail on purpose.

Its do_step logs the Python traceback itself, because pythonfmu's wrapper passes on only the
exception's repr; the FMU adapter must bring that log text into its error.
"""

import traceback

from pythonfmu.fmi2slave import Fmi2Causality, Fmi2Initial, Fmi2Slave, Fmi2Status, Fmi2Variability, Real


class IntegratorSlave(Fmi2Slave):
    author = "evtwin tests"
    description = "y' = u, failing from fail_at on (fail_at < 0: never)"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.u = 1.0
        self.y = 0.0
        self.fail_at = -1.0
        self.raise_bare = 0.0
        self.register_variable(Real("u", causality=Fmi2Causality.input))
        self.register_variable(Real("y", causality=Fmi2Causality.output, initial=Fmi2Initial.exact))
        self.register_variable(
            Real("fail_at", causality=Fmi2Causality.parameter, variability=Fmi2Variability.fixed)
        )
        self.register_variable(
            Real("raise_bare", causality=Fmi2Causality.parameter, variability=Fmi2Variability.fixed)
        )

    def do_step(self, current_time, step_size):
        if 0 <= self.fail_at <= current_time:
            if self.raise_bare:
                self._explode(current_time)
            try:
                self._explode(current_time)
            except ZeroDivisionError:
                self.log(traceback.format_exc(), Fmi2Status.error)
                return False
        self.y += self.u * step_size
        return True

    def _explode(self, t):
        raise ZeroDivisionError(f"integrator blew up at t = {t}")

"""The recorded (compiled) form of the shared step equals the interpreted step bit for bit.

:mod:`battery_fmu.trace` records the operations :mod:`battery_fmu.step` performs and replays them as
one generated function; the claim is that nothing changes but the speed. Checked against the
interpreted functions themselves on states and currents that reach every branch: charge and
discharge, zero current, the voltage and SOC windows, the hysteresis' series branch, a cooled pack,
both chemistries, several step lengths. Exact equality, not a tolerance: the same float operations in
the same order give the same bits.
"""

import math
import random

import pytest

from battery_fmu import step as shared
from battery_fmu.aging_laws import aging_model
from battery_fmu.parameters import load_cell
from battery_fmu.step import CellState
from battery_fmu.step_compiled import compile_step
from battery_fmu.trace import Trace, TraceOps, compile_traced


def random_states(n, seed):
    rng = random.Random(seed)
    for _ in range(n):
        v1, v2, h = rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), rng.uniform(-0.02, 0.02)
        yield (CellState(rng.choice([0.0, 1.0, rng.random()]), v1, v2, h, rng.uniform(250.0, 330.0),
                         rng.uniform(250.0, 330.0)),
               rng.choice([0.0, 1e-9, rng.uniform(-600.0, 600.0), rng.uniform(-3.0, 3.0)]),
               rng.uniform(1.0, 1.3), rng.uniform(0.7, 1.0))


@pytest.mark.parametrize("parameter_set", ["lfp_220ah", "nmc_75ah"])
@pytest.mark.parametrize("coolant_connected", [False, True])
def test_compiled_step_equals_interpreted_step(parameter_set, coolant_connected):
    p = load_cell(parameter_set, 178.4 if parameter_set == "lfp_220ah" else None)
    compiled = compile_step(p)
    kb, tb = shared.boundary(p, 300.0, 290.0, coolant_connected)
    for dt in (0.1, 1.0, 60.0, 3600.0):
        k = shared.constants(p, dt, kb)
        for state, current, resistance_factor, soh in random_states(200, seed=int(dt * 10)):
            capacity = soh * p.capacity
            look = shared.lookups(p, state.soc, state.t_cell, resistance_factor)
            emf = shared.electromotive(state, look, k)
            expected = (look, shared.limits(p, state, look, k, capacity, emf=emf), *emf)
            assert compiled.prepare(state, resistance_factor, capacity, k) == expected
            assert compiled.advance(state, look, k, current, tb, capacity) == shared.advance(
                p, state, look, k, current, tb, capacity)


def test_compiled_aging_rates_equal_the_laws():
    p = load_cell("lfp_220ah")
    model = aging_model(p)
    rng = random.Random(3)
    for _ in range(500):
        soc, temperature = rng.random(), rng.uniform(240.0, 340.0)
        assert model._rates(soc, temperature) == model._rate_expressions(shared.SCALAR, soc, temperature)


def test_results_keep_their_types():
    p = load_cell()
    compiled = compile_step(p)
    state = CellState(0.5, 0.0, 0.0, 0.0, 298.15, 298.15)
    k = shared.constants(p, 1.0, p.conductance_housing_ambient)
    look, limits, e, r_rc = compiled.prepare(state, 1.0, p.capacity, k)
    new, means = compiled.advance(state, look, k, 10.0, 298.15, p.capacity)
    assert type(look) is shared.Lookups and type(limits) is shared.Limits
    assert type(new) is CellState and type(means) is shared.Means
    assert isinstance(e, float) and math.isfinite(r_rc)


def test_a_python_branch_on_a_traced_value_is_refused():
    """A step that branched with ``if`` on a state would be recorded for one branch only."""

    def branching(ops, x):
        return 1.0 if x > 0.0 else 2.0

    with pytest.raises(TypeError, match="ops.if_else"):
        compile_traced("branching", branching, ["x"])
    ops = TraceOps(Trace())
    assert ops.fmax(2.0, 3.0) == 3.0 and ops.exp(0.0) == 1.0  # numbers fold at once


def test_negative_constants_keep_their_sign_under_a_power():
    fn = compile_traced("power", lambda ops, x: (-0.5) ** x + x ** (-2.0) - (-x), ["x"])
    assert fn(2.0) == (-0.5) ** 2.0 + 2.0 ** (-2.0) + 2.0

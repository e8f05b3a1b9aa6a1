"""Manufacturing variation: the factors do what they say, the spread has its stated basis, draws repeat."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from battery_fmu.aging_laws import aging_model
from battery_fmu.parameters import load_parameters
from battery_fmu.unit import BatteryUnit
from battery_fmu.variation import PARAMETERS, SPREAD, Variation, draw
from cosim.errors import SimulationError

DATA = Path(__file__).resolve().parents[1] / "battery_fmu" / "data" / "variation"
CELLS = [load_parameters("lfp_220ah"), load_parameters("nmc_75ah")]


def stored(params, days, variation=None, soc=0.8, temperature=308.15):
    model = aging_model(params, variation=variation)
    for _ in range(days):
        model.advance(86400.0, soc, soc, temperature, 0.0)
    return model


def cycled(params, days, variation=None):
    model = aging_model(params, variation=variation)
    current, soc = 0.5 * params.capacity / 3600.0, 0.95
    for _ in range(days):
        for direction in (1, -1):
            for _ in range(18):  # 0.9 of the capacity at 0.5C in 600 s steps: 1.8 h
                new = soc - direction * current * 600.0 / (params.capacity * model.soh_capacity_committed)
                model.advance(600.0, soc, new, 298.15, direction * current)
                soc = new
        model.advance(86400.0 - 2 * 18 * 600.0, soc, soc, 298.15, 0.0)
    return model


@pytest.mark.parametrize("params", CELLS, ids=lambda p: p.chemistry)
def test_rate_factors_scale_the_power_laws_exactly(params):
    base = stored(params, 200)
    faster = stored(params, 200, Variation(calendar=1.3, resistance=0.7))
    assert faster.q_cal == pytest.approx(1.3 * base.q_cal, rel=1e-9)
    assert faster.soh_resistance - 1 == pytest.approx(0.7 * (base.soh_resistance - 1), rel=1e-9)
    base, faster = cycled(params, 20), cycled(params, 20, Variation(cycle=1.25))
    assert faster.q_cyc > base.q_cyc
    # The cycle states follow k EFC^p with k scaled by the factor; SOC swings differ a little as the cells
    # fade differently, hence the tolerance.
    assert faster.q_cyc == pytest.approx(1.25 * base.q_cyc, rel=2e-3)
    assert faster.q_cal == pytest.approx(base.q_cal, rel=2e-3)


@pytest.mark.parametrize("params", CELLS, ids=lambda p: p.chemistry)
def test_capacity_factor_is_the_new_packs_capacity_against_nominal(params):
    base = stored(params, 100)
    bigger = stored(params, 100, Variation(capacity=1.02))
    assert aging_model(params, variation=Variation(capacity=1.02)).soh_capacity == 1.02
    assert bigger.soh_capacity == pytest.approx(1.02 * base.soh_capacity, rel=1e-12)


def test_the_battery_unit_takes_the_factors_as_parameters():
    assert set(PARAMETERS) <= {p.name for p in BatteryUnit().ports()}
    unit = BatteryUnit(capacity_factor=0.98, cycle_fade_factor=1.2)
    unit.name = "battery"
    unit.bind(["P_load"], ["SOH_capacity"])
    unit.setup(0.0)
    assert unit.get_outputs() == (0.98,)
    assert unit.pack.aging.v_cycle == 1.2
    bad = BatteryUnit(calendar_fade_factor=-1.0)
    bad.name = "battery"
    with pytest.raises(SimulationError, match="calendar_fade_factor must be a positive number, got -1.0"):
        bad.setup(0.0)


def test_variation_round_trips_through_parameters():
    v = Variation(capacity=1.01, calendar=0.9, cycle=1.1, resistance=1.05)
    assert Variation.from_parameters(v.as_parameters().__getitem__) == v
    with pytest.raises(ValueError, match=r"capacity_factor must lie within \[0.5, 1.5\], got 2.0"):
        Variation(capacity=2.0)


def test_cycle_spread_matches_replicate_cells_cycle_lives():
    """Pooled within-protocol sd of ln(cycle life), 9 protocols x 5 cells (Attia et al. 2020)."""
    path = DATA / "attia2020_validation_final_cycle_lives.csv"
    squares, dof = 0.0, 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            lives = np.log([float(row[f"R{i}"]) for i in range(1, 6)])
            squares += float(np.sum((lives - lives.mean()) ** 2))
            dof += len(lives) - 1
    sd = math.sqrt(squares / dof)
    assert sd == pytest.approx(0.134, abs=0.001)
    pcyc = [p.aging.pcyc for p in CELLS]
    assert min(pcyc) * sd <= SPREAD.cycle_log_sd <= max(pcyc) * sd


def test_draws_repeat_from_a_seed_and_follow_the_spread():
    first = [draw(np.random.default_rng(7)) for _ in range(3)]
    again = [draw(np.random.default_rng(7)) for _ in range(3)]
    assert first == again
    rng = np.random.default_rng(2026)
    packs = [draw(rng) for _ in range(4000)]
    capacity = np.array([v.capacity for v in packs])
    cycle = np.log([v.cycle for v in packs])
    assert capacity.mean() == pytest.approx(1.0, abs=0.001)
    assert capacity.std() == pytest.approx(SPREAD.capacity_sd, rel=0.06)  # truncation at 3 sd trims 1.4 %
    assert cycle.std() == pytest.approx(SPREAD.cycle_log_sd, rel=0.06)
    assert np.abs(capacity - 1).max() <= 3 * SPREAD.capacity_sd
    assert np.abs(cycle).max() <= 3 * SPREAD.cycle_log_sd + 1e-12


def test_the_fmu_runs_an_nmc_pack_with_its_factors_as_the_model_does(battery_fmu):
    from fmpy import simulate_fmu

    from battery_fmu.model import BatteryPack
    from battery_fmu.parameters import load_cell

    t = np.arange(400) * 30.0
    p = 25e3 + 20e3 * np.sin(t / 500.0)
    signals = np.zeros(len(t), dtype=[("time", float), ("P_load", float)])
    signals["time"], signals["P_load"] = t, p
    variation = Variation(capacity=0.985, calendar=1.2, cycle=0.9, resistance=1.1)
    start = {"parameter_set": "nmc_75ah", "capacity_Ah": 55.5, "n_series": 192, "n_parallel": 2,
             "SOC_init": 0.9, **variation.as_parameters()}
    result = simulate_fmu(str(battery_fmu), stop_time=t[-1], output_interval=30.0, input=signals,
                          start_values=start, output=["SOC", "V_terminal", "SOH_capacity", "SOH_resistance"])
    pack = BatteryPack(load_cell("nmc_75ah", 55.5), n_series=192, n_parallel=2, soc=0.9, variation=variation)
    assert type(pack.aging).__name__ == "NmcAgingModel"
    assert result[0]["SOH_capacity"] == 0.985
    for k in range(len(t) - 1):
        pack.step(30.0, p[k], 0.0, 298.15, 298.15)
        row = result[k + 1]
        assert (row["SOC"], row["V_terminal"], row["SOH_capacity"], row["SOH_resistance"]) == (
            pack.soc, pack.voltage, pack.soh_capacity, pack.soh_resistance)
    assert 192 * 3.9 < result[1]["V_terminal"] < 192 * 4.2  # 192 NMC cells in series near SOC 0.9

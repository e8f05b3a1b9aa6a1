"""NMC aging: BLAST-Lite reference figures, the closed forms re-evaluated independently, law selection."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from battery_fmu.aging import AgingModel
from battery_fmu.aging_laws import aging_model, laws_for
from battery_fmu.aging_nmc import NmcAgingModel
from battery_fmu.life import constant_profile, read_profile, simulate_life
from battery_fmu.model import BatteryPack
from battery_fmu.parameters import ParameterError, load_parameters

P = load_parameters("nmc_75ah")


def graphite_potential(soc):
    """Safari & Delacourt 2011 at BLAST-Lite's lithiation map, written out again here."""
    x = 0.0085 + soc * (0.78 - 0.0085)
    return (0.6379 + 0.5416 * np.exp(-305.5309 * x) + 0.044 * np.tanh(-(x - 0.1958) / 0.1088)
            - 0.1978 * np.tanh((x - 1.0571) / 0.0854) - 0.6875 * np.tanh((x + 0.0117) / 0.0529)
            - 0.0175 * np.tanh((x - 0.5692) / 0.0875))


def k_cal(soc, t_kelvin):
    """Gasper et al. 2023 NMC-Gr A calendar coefficient, per (days/1000)^0.578."""
    tn = t_kelvin / 308.15
    return 8.71e-7 * np.exp(10 * tn**3 / (graphite_potential(soc) / 0.123) ** (1 / 3))


def k_cyc(dod, crate, t_kelvin):
    """Gasper et al. 2023 NMC-Gr A cycle coefficient, per (EFC/1e4)^1.11."""
    tn = t_kelvin / 308.15
    return abs(0.0267 + 1.64 * tn**3 * dod**0.5 + 0.011 * np.exp(tn**-0.5 * crate**2)
               - 0.44 * np.exp(dod**0.5 * tn**2 * crate**0.5))


# BLAST-Lite 1.1.1 NMC_Gr_75Ah_A, simulate_battery_life on one day of constant SOC and temperature
# (is_constant_input), q after 1 and 10 years; Nmc111_Gr_Sanyo2Ah (Schmalstieg) r on the same input.
STORAGE = [
    # soc, degC, q 1 yr, q 10 yr, r 1 yr, r 10 yr
    (0.5, 25.0, 0.9959, 0.9843, 1.0505, 1.2837),
    (1.0, 25.0, 0.9870, 0.9510, 1.0896, 1.5031),
    (0.5, 35.0, 0.9894, 0.9598, 1.0969, 1.5443),
    (1.0, 35.0, 0.9625, 0.8584, 1.1719, 1.9652),
]


@pytest.mark.parametrize("soc, degc, q1, q10, r1, r10", STORAGE)
def test_storage_matches_blast_lite(soc, degc, q1, q10, r1, r10):
    result = simulate_life(constant_profile(soc, degc), 10, P)
    assert result.capacity[1] == pytest.approx(q1, abs=0.003)
    assert result.capacity[10] == pytest.approx(q10, abs=0.003)
    assert result.resistance[1] == pytest.approx(r1, abs=0.005)
    assert result.resistance[10] == pytest.approx(r10, abs=0.005)


def test_weekly_ev_profile_matches_blast_lite():
    # BLAST-Lite 1.1.1 NMC_Gr_75Ah_A, personal_ev_smallbatt repeated weekly at 25 degC: q = 0.9875 (1 yr),
    # 0.9057 (10 yr), 1329 EFC.
    result = simulate_life(read_profile("personal_ev_smallbatt_week"), 10, P)
    assert result.capacity[1] == pytest.approx(0.9875, abs=0.003)
    assert result.capacity[10] == pytest.approx(0.9057, abs=0.003)
    assert result.efc[10] == pytest.approx(1329.2, rel=0.01)
    assert any("depth of discharge" in w for w in result.warnings)


def test_storage_follows_the_closed_form():
    model = NmcAgingModel(P)
    for _ in range(400):
        model.advance(86400.0, 0.8, 0.8, 303.15, 0.0)
    expected = k_cal(0.8, 303.15) * (400 / 1000) ** 0.578
    # BLAST-Lite's forward step in virtual time overshoots the power law a little (p < 1).
    assert 1 - model.soh_capacity == pytest.approx(expected, rel=3e-3)
    assert 1 - model.soh_capacity > expected
    # Schmalstieg calendar resistance at the cell's OCV there: alpha t^0.75.
    v = P.ocv.scalar(0.8)
    alpha = (5.270 * v - 16.32) * 1e5 * np.exp(-5986 / 303.15)
    assert model.soh_resistance - 1 == pytest.approx(alpha * 400**0.75, rel=3e-3)


def test_full_cycles_follow_the_closed_form():
    """0.5C full cycles at 25 degC for a year: cycle fade k_cyc (EFC/1e4)^1.11 plus the calendar part."""
    model = NmcAgingModel(P)
    current = 0.5 * P.capacity / 3600.0
    step = 240.0
    n_half = int(round(2 * 3600 / step))  # 2 h per half cycle at 0.5C
    soc = 1.0
    socs = []
    while model.time + model.c_time < 365 * 86400.0 - 1.0:
        for direction in (1, -1):
            for _ in range(n_half):
                q = model.soh_capacity_committed
                new = min(max(soc - direction * current * step / (P.capacity * q), 0.0), 1.0)
                model.advance(step, soc, new, 298.15, direction * current)
                socs.append(0.5 * (soc + new))
                soc = new
    efc = model.total_efc
    assert efc == pytest.approx(365 * 6, rel=0.01)  # six 4 h cycles a day
    kc = np.mean([k_cal(s, 298.15) for s in socs])
    q_cal = kc * (365 / 1000) ** 0.578
    # DOD 1 and 0.5C (C-rate counted against nominal capacity, as BLAST-Lite does).
    q_cyc = k_cyc(1.0, 0.5, 298.15) * (efc / 1e4) ** 1.11
    assert 1 - model.soh_capacity == pytest.approx(q_cal + q_cyc, rel=0.01)
    assert q_cyc > 3 * q_cal  # the test exercises the cycle law, not only the calendar one


def test_cycle_resistance_per_efc_is_schmalstiegs_per_ah_law():
    from battery_fmu.nmc_laws import cycle_resistance_per_efc

    per_ah = 2.153e-4 * (3.7 - 3.725) ** 2 - 1.521e-5 + 2.798e-4 * 0.6
    assert cycle_resistance_per_efc(3.7, 0.6, P) == pytest.approx(per_ah * 2 * 2.15, rel=1e-12)
    assert cycle_resistance_per_efc(3.7, 0.01, P) == 0.0  # the fit's negative constant never shrinks R


def test_the_parameter_sets_chemistry_picks_the_law():
    lfp = load_parameters("lfp_220ah")
    assert type(aging_model(lfp)) is AgingModel
    assert type(aging_model(P)) is NmcAgingModel
    assert type(BatteryPack(P, 96, 1).aging) is NmcAgingModel
    assert type(BatteryPack(lfp, 106, 1).aging) is AgingModel
    assert "Gasper" in laws_for("NMC").description and "Schmalstieg" in laws_for("NMC").description


def test_a_chemistry_without_laws_is_refused(tmp_path):
    text = Path(P.source_file).read_text(encoding="utf-8")
    bad = tmp_path / "lmo.toml"
    bad.write_text(text.replace('chemistry = "NMC"', 'chemistry = "LMO"'), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"no aging laws for 'LMO'; chemistries with laws: LFP, NMC"):
        load_parameters(bad)


def test_state_round_trip_keeps_the_nmc_accumulators():
    model = NmcAgingModel(P)
    for _ in range(30):
        model.advance(600.0, 0.7, 0.69, 300.0, 0.5 * P.capacity / 3600.0)
    state = model.get_state()
    copy = NmcAgingModel(P)
    copy.set_state(state)
    for m in (model, copy):
        m.advance(3600.0, 0.6, 0.6, 305.0, 0.0)
    assert copy.soh_capacity == model.soh_capacity and copy.soh_resistance == model.soh_resistance


def test_life_command_runs_the_nmc_set():
    out = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "life", "personal_ev_smallbatt_week", "--years", "2", "--cell",
         "nmc_75ah", "--json"], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["cell"] == "NMC/graphite pouch 75 Ah"
    assert 0.97 < result["q"][1] < 0.995 and result["q"][2] < result["q"][1]


def test_the_mpc_refuses_a_cell_whose_laws_it_does_not_predict():
    from control.mpc import MPCCharger
    from cosim.errors import ScenarioError

    charger = MPCCharger(departure="07:30")
    charger.name = "charger"
    charger.configure({"parameter_set": "nmc_75ah", "capacity_Ah": 55.5, "n_series": 192, "n_parallel": 2})
    with pytest.raises(ScenarioError, match="LFP laws only; parameter set 'nmc_75ah' is NMC"):
        charger._build()


def test_cycling_outside_the_fitted_temperatures_says_the_nmc_law_extrapolates():
    messages = []
    model = NmcAgingModel(P, warn=messages.append)
    current, soc = 0.5 * P.capacity / 3600.0, 0.95
    for direction in (1, -1, 1):
        for _ in range(18):
            new = soc - direction * current * 600.0 / P.capacity
            model.advance(600.0, soc, new, 278.15, direction * current)
            soc = new
    model.close_chunk(soc)
    assert messages == ["aging model out of its fitted range: cycling at 5.0 degC, outside the fitted "
                        "10-45 degC: the cycle-fade term extrapolates"]

"""EV presets: built from ev_specs.csv with every value's basis, and checked against official figures.

The official figures (EPA label, WLTP) are independent truths; each is compared like with like:
an EPA label is the 55/45 UDDS/HWFET result at the wall divided by 0.7, a WLTP figure is the WLTC 3b
result at the wall, unadjusted.
"""

from __future__ import annotations

import csv
import hashlib
import re
from importlib.resources import files

import pytest

from bridges import consumption
from bridges.ev_model import VehicleParams
from bridges.presets import LB_TO_KG, all_presets, get_preset
from cosim.errors import ScenarioError

DATA = files("bridges") / "data"
REQUIRED_CARS = [
    "Tesla Model 3",
    "Kia EV3",
    "Tesla Model Y",
    "Hyundai Ioniq 5",
    "Nissan Leaf",
    "Chevrolet Bolt EV",
    "Volkswagen ID.3",
    "BYD Atto 3",
    "Renault Zoe",
    "Ford Mustang Mach-E",
    "BMW i4",
    "Kia EV6",
]


def ev_specs() -> dict[str, dict[str, str]]:
    with (DATA / "vehicles" / "ev_specs.csv").open(encoding="utf-8-sig", newline="") as fh:
        return {row["vehicle"]: row for row in csv.DictReader(fh)}


def test_package_data_matches_its_provenance_hashes():
    text = (DATA / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", text, flags=re.M)
    assert len(listed) == 8
    for digest, rel in listed:
        assert hashlib.sha256((DATA / rel).read_bytes()).hexdigest() == digest, rel


def test_at_least_twelve_presets_cover_the_named_cars_with_their_packs():
    presets = all_presets()
    assert len(presets) >= 12
    names = " | ".join(p.name for p in presets)
    for car in (
        "Model 3 RWD LFP",
        "EV3",
        "Model Y",
        "Ioniq 5",
        "Leaf",
        "Bolt",
        "ID.3",
        "Atto 3",
        "Zoe",
        "Mach-E",
        "i4",
        "EV6",
    ):
        assert car in names
    for p in presets:
        assert p.chemistry and p.battery_kWh > 0 and p.nominal_voltage_V > 0
        assert p.cells_series and p.cells_parallel
        assert p.capacity_Ah == pytest.approx(p.battery_kWh * 1000 / p.nominal_voltage_V)
        VehicleParams.from_preset(p)  # every preset has what the model needs


def test_preset_values_are_the_csv_values_or_labelled_fills():
    specs = ev_specs()
    assert set(REQUIRED_CARS) <= set(specs)
    columns = {
        "drag_coef": "drag_coef_Cd",
        "frontal_area_m2": "frontal_area_m2",
        "rolling_resist": "rolling_resist_Crr",
        "motor_peak_kW": "motor_peak_kW",
        "battery_kWh": "battery_kWh",
        "nominal_voltage_V": "nominal_voltage_V",
        "chemistry": "chemistry",
    }
    fills = {}
    with (DATA / "vehicles" / "preset_fills.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            fills[(row["preset"], row["field"])] = row
    for p in all_presets():
        row = specs[fills[(p.id, "source_row")]["value"]]
        for field, column in columns.items():
            value = getattr(p, field)
            if (p.id, field) in fills:
                basis = fills[(p.id, field)]["basis"]
                assert p.basis[field] == basis and basis, (p.id, field)
                if not row[column].strip():
                    assert basis.startswith("ESTIMATE"), (
                        p.id,
                        field,
                    )  # a blank is only ever filled by an estimate
            elif row[column].strip():
                expected = row[column].strip()
                assert value == (expected if field == "chemistry" else float(expected)), (p.id, field)
            else:
                assert value is None and p.road_load == "epa", (p.id, field)  # physics presets need them
        for field in (
            "mass_kg",
            "motor_peak_kW",
            "battery_kWh",
            "gear_ratio",
            "wheel_radius_m",
            "aux_base_W",
            "charge_efficiency",
            "cells_series",
        ):
            assert p.basis.get(field), (p.id, field)


def test_epa_presets_are_simulated_at_the_equivalent_test_weight():
    for p in all_presets():
        if p.road_load == "epa":
            assert p.test_mass_kg == pytest.approx(p.epa_ETW_lb * LB_TO_KG)
            assert "equivalent test weight" in p.basis["mass_kg"]


def test_epa_coefficients_convert_to_si():
    p = get_preset("ev6_rwd")  # A 23.313 lbf, B 0.11939 lbf/mph, C 0.022206 lbf/mph^2 in ev_specs.csv
    v = VehicleParams.from_preset(p)
    mph = 50.0
    force_lbf = 23.313 + 0.11939 * mph + 0.022206 * mph**2
    speed = mph * 0.44704
    assert v.f0 + v.f1 * speed + v.f2 * speed**2 == pytest.approx(force_lbf * 4.4482216152605, rel=1e-12)


def test_unknown_preset_and_value_errors_suggest():
    with pytest.raises(
        ScenarioError, match=r"unknown vehicle preset 'model3'; did you mean 'model3_rwd_lfp'"
    ):
        get_preset("model3")
    with pytest.raises(ScenarioError, match=r"has no value 'motor_kw'; did you mean 'motor_peak_kW'"):
        get_preset("zoe").replace(motor_kw=80)
    with pytest.raises(ScenarioError, match=r"'mass_kg' must be a number \(got 'heavy'\)"):
        get_preset("zoe").replace(mass_kg="heavy")


def test_override_keeps_a_basis():
    p = get_preset("zoe").replace(aux_base_W=400)
    assert p.aux_base_W == 400.0 and p.basis["aux_base_W"] == "set by the user"
    assert get_preset("zoe").aux_base_W != 400.0  # the table itself is unchanged


def test_beamng_models_map_to_presets():
    assert get_preset("Model3_2024").id == "model3_rwd_lfp"
    assert get_preset("sv1ev3").id == "ev3"


# The three official figures with a source (ev_specs.csv consumption_basis), each compared like with like.
OFFICIAL = [
    ("model3_rwd_lfp", "epa", 158.4),  # EPA label 132 MPGe (2024 Model 3 RWD)
    ("ioniq5_awd", "epa", 214.0),  # EPA 98 MPGe combined (AWD)
    ("atto3", "wltp", 156.0),  # WLTP 15.6 kWh/100 km
]


@pytest.mark.parametrize("preset,method,official", OFFICIAL)
def test_official_consumption_within_ten_percent(preset, method, official):
    comparison = consumption.official_comparison(preset)
    assert comparison.method == method
    assert comparison.official_Wh_per_km == official
    assert abs(comparison.simulated_Wh_per_km / official - 1) < 0.10, comparison.simulated_Wh_per_km


def test_epa_label_is_the_weighted_two_cycle_wall_figure_over_0_7():
    comparison = consumption.epa_label("model3_rwd_lfp")
    city, hwy = comparison.parts["udds"], comparison.parts["hwfet"]
    wall_city = city.battery_kWh / city.charge_efficiency * 1000 / city.distance_km
    wall_hwy = hwy.battery_kWh / hwy.charge_efficiency * 1000 / hwy.distance_km
    assert comparison.simulated_Wh_per_km == pytest.approx((0.55 * wall_city + 0.45 * wall_hwy) / 0.7)


def test_every_preset_names_a_battery_parameter_set_of_its_chemistry():
    from battery_fmu.aging_laws import LAWS
    from battery_fmu.parameters import load_parameters

    for p in all_presets():
        chemistry = load_parameters(p.parameter_set).chemistry
        assert chemistry in LAWS and chemistry in p.chemistry.upper(), (p.id, p.chemistry, p.parameter_set)
        assert p.basis["parameter_set"]
    by_id = {p.id: p.parameter_set for p in all_presets()}
    assert by_id["model3_rwd_lfp"] == "lfp_220ah" and by_id["ioniq5_awd"] == "nmc_75ah"


def test_the_pack_a_preset_gives_the_twin_stores_its_energy():
    from battery_fmu.parameters import load_cell

    for p in all_presets():
        battery = p.pack()
        cell = load_cell(battery["parameter_set"], battery["capacity_Ah"])
        # Charge and energy of the pack the twin builds equal the preset's (nominal voltage per cell x cells).
        pack_ah = cell.capacity / 3600.0 * battery["n_parallel"]
        assert pack_ah == pytest.approx(p.capacity_Ah, rel=1e-12), p.id
        # The energy the twin stores between SOC 0 and 1 (its OCV curve integrated over the charge) is the
        # preset's energy within a few percent (nominal voltages are rounded below the mean OCV).
        mean_ocv = sum(cell.ocv.scalar((k + 0.5) / 200) for k in range(200)) / 200
        stored_kWh = mean_ocv * battery["n_series"] * pack_ah / 1000.0
        assert stored_kWh == pytest.approx(p.battery_kWh, rel=0.06), (p.id, stored_kWh)

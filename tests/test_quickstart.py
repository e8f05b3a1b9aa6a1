"""scenarios/quickstart.yaml, the README's main job: runnable as shipped, checked against independent truths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosim import scenario
from cosim.results import read_result

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
# Cycle distances from the drive-cycle provenance (EPA schedules): UDDS 11.990 km, HWFET 16.507 km.
COMMUTE_KM = 11.990 + 16.507


def variant(tmp_path: Path, battery: str, fmu: Path) -> Path:
    text = QUICKSTART.read_text(encoding="utf-8")
    if battery == "FMU":
        text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", f"    fmu: {fmu}")
    else:
        text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", "    type: battery")
    path = tmp_path / "quickstart.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("battery", ["FMU", "in-process unit"])
def test_quickstart_day(tmp_path, battery_fmu, battery):
    # The FMU built once per session (not into the work tree), or the same model in-process.
    report = scenario.run(variant(tmp_path, battery, battery_fmu), output=tmp_path / "qs.h5")
    summary = {label: value for label, value, _ in report.summary}
    result = read_result(tmp_path / "qs.h5")
    assert result.status == "complete"

    # Two commutes of UDDS + HWFET each, driven to the end.
    assert summary["distance"] == pytest.approx(2 * COMMUTE_KM, abs=0.01)

    t = result["battery.SOC"].time
    soc = result["battery.SOC"].values
    charge = result["schedule.charge"].values
    drive = result["schedule.drive"].values
    dt = np.diff(t, prepend=t[0])  # each row holds the step that ends at its time

    # The pack delivers all the vehicle asks for.
    assert np.max(np.abs(result["battery.P_unmet"].values)) < 1e-6

    # Coulomb counting over the evening charge: the charger's current equals the SOC gained.
    charging = (charge == 1) & (drive == 0)
    coulombs = np.sum(result["charger.I_charge"].values[charging] * dt[charging])
    first, last = np.flatnonzero(charging)[[0, -1]]
    capacity = 178.4 * 3600.0 * result["battery.SOH_capacity"].values[last]
    assert coulombs == pytest.approx((soc[last] - soc[first - 1]) * capacity, rel=2e-3)

    # Driving discharges, the charge ends at the charger's target, the cells stay in a sane range.
    morning = (t > 7.5 * 3600) & (t <= 7.5 * 3600 + 2134)
    assert soc[morning][-1] < soc[morning][0] - 0.02
    assert summary["SOC at the end"] == pytest.approx(0.9, abs=2e-3)
    t_cell = result["battery.T_cell"].values - 273.15
    assert 15.0 < t_cell.min() and t_cell.max() < 40.0
    if battery == "FMU":
        assert result.json_attr("fmu_guids")["battery"]


def test_quickstart_as_shipped_builds_the_fmu_and_runs(tmp_path):
    """Exactly the shipped file, from another working directory: relative paths resolve to the scenario."""
    report = scenario.run(QUICKSTART, output=tmp_path / "qs.h5")
    summary = {label: value for label, value, _ in report.summary}
    assert summary["distance"] == pytest.approx(2 * COMMUTE_KM, abs=0.01)
    assert (ROOT / "fmus" / "BatteryTwin.fmu").is_file()


def test_liquid_cooling_variant_couples_the_c_plate_fmu(tmp_path, battery_fmu):
    """The same day with the stand-in AMESIM/Simulink plate FMU: W out, degC back, converted on the way."""
    from fmus.build_c import build_cooling_plate

    plate = build_cooling_plate(tmp_path / "fmus")
    text = (ROOT / "scenarios" / "quickstart_liquid_cooling.yaml").read_text(encoding="utf-8")
    text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", f"    fmu: {battery_fmu}")
    text = text.replace("    fmu: ../fmus/CoolingPlate.fmu", f"    fmu: {plate}")
    path = tmp_path / "cooling.yaml"
    path.write_text(text, encoding="utf-8")
    report = scenario.run(path, output=tmp_path / "qc.h5")
    summary = {label: value for label, value, _ in report.summary}
    result = read_result(tmp_path / "qc.h5")
    assert result.status == "complete"
    assert summary["distance"] == pytest.approx(2 * COMMUTE_KM, abs=0.001)
    # The drives last 2140 s on the plate's grid, 6 s past the commute: the car stands at both ends.
    speed = result["vehicle.speed"]
    for start in (27000.0, 63000.0):
        window = (speed.time > start) & (speed.time <= start + 2140.0)
        assert window.sum() == 2140
        assert np.all(speed.values[window][-7:] == 0.0)
    # degC from the plate arrives at the battery in K.
    np.testing.assert_allclose(result["battery.T_coolant"].values, result["plate.coolant_out.T"].values + 273.15,
                               rtol=0, atol=1e-9)
    assert result["plate.coolant_out.T"].unit == "degC" and result["battery.T_coolant"].unit == "K"
    # The coolant is fed at ambient: once its start value (25 degC) has washed out, it stays within a
    # few kelvin of the air.
    settled = result["plate.coolant_out.T"].time > 3600.0
    air = result["schedule.T_ambient"].values[settled] - 273.15
    coolant = result["plate.coolant_out.T"].values[settled]
    assert np.all(np.abs(coolant - air) < 3.0)
    assert abs(summary["heat into the coolant"]) > 0.05  # kWh: the plate really carries heat

"""scenarios/quickstart.yaml: runnable as shipped, with results checked against the drive table itself."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cosim import registry, scenario
from cosim.results import read_result

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def _table_integrals() -> tuple[float, float]:
    """Energy [J] and distance [m] of the drive table, held row to row (step interpolation)."""
    with open(ROOT / "scenarios" / "data" / "quickstart_drive.csv", encoding="utf-8") as fh:
        rows = [(float(r["time_s"]), float(r["P_W"]), float(r["v_mps"])) for r in csv.DictReader(fh)]
    energy = sum(p * (b[0] - a[0]) for a, b in zip(rows, rows[1:]) for p in [a[1]])
    distance = sum(v * (b[0] - a[0]) for a, b in zip(rows, rows[1:]) for v in [a[2]])
    return energy, distance


def _check_day(result, summary: dict[str, float]) -> None:
    energy, distance = _table_integrals()
    assert summary["distance"] == pytest.approx(distance / 1000.0, rel=1e-9)
    assert summary["energy drawn by the drives"] == pytest.approx(energy / 3.6e6, rel=1e-9)
    soc = result["battery.SOC"]
    drive = result["schedule.drive"].values
    charge = result["schedule.charge"].values
    t = soc.time
    morning = (t >= 7.5 * 3600) & (t <= 7.5 * 3600 + 2738)
    assert soc.values[morning][-1] < soc.values[morning][0]  # driving discharges
    assert summary["SOC at the end"] > soc.values[t <= 22 * 3600][-1]  # the overnight charge charges
    current = result["charger.I_charge"]
    assert np.all(current.values[(charge == 0) & (drive == 1)] == 0.0)
    t_cell = result["battery.T_cell"].values - 273.15
    assert 10.0 < t_cell.min() and t_cell.max() < 45.0


@pytest.mark.parametrize("battery", ["in-process unit", "FMU"])
def test_quickstart_with_a_stand_in_charger(tmp_path, battery, request):
    """The scenario as shipped, with a stand-in charger (until the CC-CV charger is installed)."""
    if "battery" not in registry.unit_type_names():
        pytest.skip("the 'battery' unit type (battery_fmu) is not installed")
    text = QUICKSTART.read_text(encoding="utf-8")
    if battery == "FMU":
        fmu = request.getfixturevalue("battery_fmu")  # built once per session, not into the work tree
        text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", f"    fmu: {fmu}")
    else:
        text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", "    type: battery")
    text = text.replace("    type: cccv_charger", "    type: cosim_units:StandInCharger")
    text = text.replace(
        "file: data/quickstart_drive.csv", f"file: {QUICKSTART.parent / 'data' / 'quickstart_drive.csv'}"
    )
    variant = tmp_path / "quickstart.yaml"
    variant.write_text(text, encoding="utf-8")
    report = scenario.run(variant, output=tmp_path / "qs.h5")
    _check_day(read_result(tmp_path / "qs.h5"), {label: v for label, v, _ in report.summary})


def test_quickstart_as_shipped(tmp_path):
    missing = []
    try:
        import cosim.fmu  # noqa: F401
    except ImportError:
        missing.append("the FMU adapter (cosim.fmu)")
    if "cccv_charger" not in registry.unit_type_names():
        missing.append("the 'cccv_charger' unit type (control/)")
    if "BatteryTwin.fmu" not in registry.fmu_builders() and not (ROOT / "fmus" / "BatteryTwin.fmu").is_file():
        missing.append("the BatteryTwin.fmu builder (battery_fmu)")
    if missing:
        pytest.skip("quickstart needs " + " and ".join(missing) + ", not installed yet")
    report = scenario.run(QUICKSTART, output=tmp_path / "qs.h5")
    result = read_result(tmp_path / "qs.h5")
    assert result.status == "complete"
    assert result.json_attr("fmu_guids")["battery"]
    _check_day(result, {label: v for label, v, _ in report.summary})

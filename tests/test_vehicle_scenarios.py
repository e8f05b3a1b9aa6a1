"""The vehicle scenarios that ship: each runs (long ones cut short), checked against independent sums.

Parts that live elsewhere are swapped in only while they are missing from the installation: without
the FMU adapter the battery runs as the in-process unit of the same model (``type: battery``); without
the CC-CV charger, the engine tests' stand-in charger.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

scenario = pytest.importorskip("cosim.scenario")

from cosim.results import read_result  # noqa: E402

from bridges import consumption, drive_cycles  # noqa: E402
from cosim import registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
COMMUTE_BLOCK_KM = sum(drive_cycles.load_cycle(c).distance for c in ("udds", "hwfet")) / 1000.0


def runnable(name: str, replace: dict[str, str] | None = None) -> Path:
    """The scenario, with missing parts swapped for stand-ins, written beside it (so paths resolve)."""
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    try:
        import cosim.fmu  # noqa: F401
    except ImportError:
        text = text.replace("    fmu: ../fmus/BatteryTwin.fmu", "    type: battery")
    if "cccv_charger" not in registry.unit_type_names():
        text = text.replace("    type: cccv_charger", "    type: cosim_units:StandInCharger")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    variant = SCENARIOS / f"_test_{name}"
    variant.write_text(text, encoding="utf-8")
    return variant


def run(name: str, tmp_path: Path, duration: float | None = None, replace: dict[str, str] | None = None):
    if "battery" not in registry.unit_type_names():
        pytest.skip("the battery twin is not installed")
    variant = runnable(name, replace)
    try:
        report = scenario.run(variant, output=tmp_path / "run.h5", duration=duration)
    finally:
        variant.unlink()
    return read_result(tmp_path / "run.h5"), {label: value for label, value, _ in report.summary}


@pytest.mark.parametrize(
    "name,mix", [("city.yaml", "city"), ("highway.yaml", "highway"), ("aggressive.yaml", "us06")]
)
def test_drive_scenarios_match_the_vehicle_alone(name, mix, tmp_path):
    result, summary = run(name, tmp_path)
    assert result.status == "complete"
    alone = consumption.drive("model3_rwd_lfp", mix)  # the same unit stepped directly, no battery
    repeats = 3 if mix == "us06" else 1
    assert summary["distance"] == pytest.approx(repeats * alone.distance_km, rel=1e-9)
    # the battery never refused regen at this SOC, so the coupled run draws what the vehicle alone draws
    assert summary["energy at the battery terminals"] == pytest.approx(repeats * alone.battery_kWh, rel=1e-6)
    # the battery delivered that energy: its SOC fell by about that energy over its nominal pack energy
    soc = result["battery.SOC"].values
    drop = soc[0] - soc[-1]
    assert drop == pytest.approx(summary["energy at the battery terminals"] / 60.5, rel=0.1)


@pytest.mark.parametrize(
    "name,blocks_per_week", [("commute_10y_miami.yaml", 11), ("commute_fleet_mileage.yaml", 15)]
)
def test_commute_scenarios_short_run(name, blocks_per_week, tmp_path):
    result, summary = run(name, tmp_path, duration=7 * 86400.0)  # one week of the ten years
    assert result.status == "complete"
    assert summary["distance"] == pytest.approx(blocks_per_week * COMMUTE_BLOCK_KM, rel=1e-9)
    soc = result["battery.SOC"]
    assert 0.3 < soc.values.min() and soc.values.max() <= 1.0
    current = result["charger.I_charge"]
    assert current.values.max() > 0  # it charged at night
    assert summary["EFC"] > 0 and summary["SOH capacity at the end"] < 1.0


def test_fleet_mileage_is_near_the_median_of_the_shipped_distribution():
    import csv
    from importlib.resources import files

    with (files("bridges") / "data" / "usage" / "annual_vmt_cdf.csv").open(encoding="utf-8-sig") as fh:
        rows = [(float(r["Annual VMT"]), float(r["CDF"])) for r in csv.DictReader(fh)]
    miles, cdf = zip(*rows, strict=True)
    median_km = float(np.interp(0.5, cdf, miles)) * 1.609344
    assert median_km == pytest.approx(21712, abs=1)
    annual_km = 15 * COMMUTE_BLOCK_KM * 365 / 7
    assert abs(annual_km / median_km - 1) < 0.03


def test_beamng_scenario_is_valid_and_runs_against_the_loopback_simulator(tmp_path):
    pytest.importorskip("beamngpy")
    from beamng_server import FakeBeamNG

    scenario.check(runnable("beamng.yaml").resolve())  # valid as shipped (no simulator needed to check)
    (SCENARIOS / "_test_beamng.yaml").unlink()
    srv = FakeBeamNG()
    port = srv.start()
    try:
        result, summary = run(
            "beamng.yaml",
            tmp_path,
            duration=30.0,
            replace={
                "port: 25252": f"port: {port}",
                "results/beamng_telemetry.jsonl": str(tmp_path / "tel.jsonl"),
            },
        )
    finally:
        srv.stop()
    assert result.status == "complete"
    assert sum(srv.step_counts) == 30 * 60  # lockstep: 30 simulator seconds for 30 co-simulation seconds
    assert summary["distance"] > 0.1 and summary["energy at the battery terminals"] > 0
    assert (tmp_path / "tel.jsonl").stat().st_size > 0
    # the vehicle's metadata is read when the run ends: what it counted during the run is in the file
    vehicle = result.json_attr("units")["vehicle"]
    assert vehicle["frames_sent"] == str(30 * 60)
    assert "step: 30 calls" in vehicle["call_timings"]


def test_beamng_scenario_failure_keeps_the_results_so_far(tmp_path):
    pytest.importorskip("beamngpy")
    from beamng_server import FakeBeamNG

    srv = FakeBeamNG(die_after_steps=12)
    port = srv.start()
    try:
        with pytest.raises(scenario.RunFailed) as info:
            run(
                "beamng.yaml",
                tmp_path,
                duration=30.0,
                replace={
                    "port: 25252": f"port: {port}",
                    "results/beamng_telemetry.jsonl": str(tmp_path / "tel.jsonl"),
                },
            )
    finally:
        srv.stop()
    assert "BeamNG.tech 'step' for vehicle 'ego' failed" in str(info.value)
    result = read_result(tmp_path / "run.h5")
    assert result.status.startswith("failed")
    assert len(result["vehicle.distance"].values) >= 12  # every step before the simulator died


def test_beamng_scenario_without_a_simulator_exits_2_with_a_clear_error(tmp_path):
    pytest.importorskip("beamngpy")
    import socket

    from click.testing import CliRunner

    from cosim.cli import cli

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    variant = runnable(
        "beamng.yaml",
        {"port: 25252": f"port: {port}", "results/beamng_telemetry.jsonl": str(tmp_path / "tel.jsonl")},
    )
    try:
        out = CliRunner().invoke(
            cli, ["run", str(variant), "-o", str(tmp_path / "run.h5"), "--duration", "10 s"]
        )
    finally:
        variant.unlink()
    assert out.exit_code == 2, out.output
    assert (
        "error:" in out.output
        and f"is BeamNG.tech running with its socket open at localhost:{port}" in out.output
    )

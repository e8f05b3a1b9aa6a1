"""Fleets: vehicles drawn reproducibly, daily summaries that add up, fleet mode against full resolution,
and a fleet run on a real LocalCluster that is killed midway and resumed."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cosim.errors import ScenarioError
from fleet import spec
from fleet.spec import FleetModel

ROOT = Path(__file__).resolve().parents[1]
TINY = """\
seed: 7
vehicles: 5
years: 1
presets: {model3_rwd_lfp: 1, atto3: 1}
styles: {commute: 1, aggressive: 1}
charging: {plug_in_90: 1, fast_weekly: 1}
parking: {garage: 1, street: 1}
battery: in_process
"""


def test_vehicles_are_drawn_per_vehicle_from_the_seed():
    small = FleetModel(vehicles=3, years=1, seed=11, styles={"city": 1, "highway": 1})
    large = FleetModel(vehicles=50, years=1, seed=11, styles={"city": 1, "highway": 1})
    other = FleetModel(vehicles=50, years=1, seed=12, styles={"city": 1, "highway": 1})
    assert [spec.draw(small, i) for i in range(3)] == [spec.draw(large, i) for i in range(3)]
    assert [spec.draw(large, i) for i in range(50)] != [spec.draw(other, i) for i in range(50)]
    styles = {spec.draw(large, i).style for i in range(50)}
    assert styles == {"city", "highway"}


def test_annual_mileage_follows_the_blast_lite_distribution():
    model = FleetModel(vehicles=1, years=1)
    km = np.array([spec.draw(model, i).annual_km_drawn for i in range(3000)])
    # the median of the shipped CDF (bridges/data/PROVENANCE.md): 13,491 mi = 21,712 km
    assert abs(np.median(km) / 21712.0 - 1.0) < 0.04
    assert km.max() <= 18858 * spec.KM_PER_MILE + 1e-6


def test_no_car_is_aged_with_another_chemistrys_laws(tmp_path):
    from battery_fmu.parameters import load_parameters
    from bridges.presets import all_presets
    from cosim.errors import ScenarioError
    from fleet import usage

    for preset in all_presets():
        cell = usage.parameter_set(preset)
        path = tmp_path / f"{preset.id}.yaml"
        path.write_text(f"vehicles: 2\nyears: 1\npresets: {{{preset.id}: 1}}\n")
        if cell is None:  # the twin has no law for this chemistry: the fleet file is refused
            with pytest.raises(ScenarioError, match=f"{preset.id}.*{preset.chemistry.split()[0]}"):
                spec.load(path)
            continue
        wanted = "LFP" if "LFP" in preset.chemistry.upper() else "NMC"
        assert load_parameters(cell).chemistry.upper().startswith(wanted), (preset.id, cell)
        vehicle = spec.load(path).vehicles[0]
        doc = usage.scenario(vehicle, battery="fmu")
        assert doc["units"]["battery"]["parameters"]["parameter_set"] == cell
        doc = usage.scenario(vehicle, battery="in_process")  # vehicle and pack as one unit
        assert doc["units"]["vehicle"]["settings"]["battery"]["parameter_set"] == cell


def test_the_week_drives_the_drawn_mileage_in_whole_passes():
    from fleet import usage

    model = FleetModel(vehicles=1, years=1, styles={"city": 1})
    for i in range(20):
        v = spec.draw(model, i)
        duration, distance = usage.mix(v.style)
        passes = sum(n for _, _, n in usage.trips(v))
        assert abs(passes * distance / 1000 - v.annual_km_drawn * 7 / 365) <= distance / 2000 + 1e-9 or passes == 1
        for day in usage.week(v).values():
            drives = [s for s in day if s["phase"] == "drive"]
            assert all(float(s["for"].split()[0]) % duration == 0 for s in drives)


def _vehicle(fleet_text: str, tmp_path: Path, index: int = 0):
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text)
    return spec.load(path).vehicles[index]


def test_daily_summaries_add_up_to_the_run(tmp_path):
    from bridges import drive_cycles
    from fleet.task import run_vehicle

    v = _vehicle("vehicles: 1\nyears: 1\nbattery: in_process\nannual_km: 14000\n", tmp_path)
    result = run_vehicle({"vehicle": dataclasses.asdict(v), "battery": "in_process", "resolution": "fleet"},
                         duration=7 * 86400.0)
    t = result["table"]
    assert list(t["day"]) == list(range(7))
    # distance: whole passes of the commute mix (UDDS + HWFET), from the cycle data
    per_pass = sum(float(c.distance) for c in drive_cycles.resolve("commute")) / 1000.0
    passes = t["distance_km"] / per_pass
    assert np.allclose(passes, np.round(passes), atol=1e-6) and passes.sum() >= 9
    # energy conservation over the week: what the chargers put in covers what the car drew
    assert t["charge_kWh"].sum() == pytest.approx(t["energy_kWh"].sum(), rel=0.15)
    assert np.all(t["soc_min"] <= t["soc_mean"]) and np.all(t["soc_mean"] <= t["soc_max"])
    assert np.all(t["cycle_depth"] <= t["soc_swing"] + 1e-12)
    # SOH against nominal starts at the pack's drawn capacity factor and only falls
    assert np.all(np.diff(t["soh_capacity"]) <= 0) and t["soh_capacity"][-1] < v.variation["capacity_factor"]
    assert np.all(t["c_rate_p50"] <= t["c_rate_p99"] + 1e-12)
    assert t["fast_charge_events"].sum() == 0


def test_fast_charging_days_are_counted(tmp_path):
    from fleet import usage
    from fleet.task import run_vehicle

    v = _vehicle("vehicles: 1\nyears: 1\nbattery: in_process\nannual_km: 14000\ncharging: {fast_daily: 1}\n",
                 tmp_path)
    fast_days = sum(1 for day in usage.week(v).values() if any(s["phase"] == "fast" for s in day))
    result = run_vehicle({"vehicle": dataclasses.asdict(v), "battery": "in_process", "resolution": "fleet"},
                         duration=7 * 86400.0)
    t = result["table"]
    # every day that charged charged fast; the first day ends above the fast target (0.8) and does not
    assert list(t["fast_charge_events"]) == list((t["charge_kWh"] > 0).astype(int))
    assert t["fast_charge_events"].sum() == fast_days - 1 and t["soc_min"][0] > 0.8
    assert t["c_rate_max"].max() >= 0.5


@pytest.mark.slow
def test_fleet_mode_matches_full_resolution_on_the_commute(tmp_path, battery_fmu):
    """The shipped Miami commute, 3 weeks: fleet mode keeps energy within 1 % and the capacity fade within 2 %."""
    from ruamel.yaml import YAML

    from cosim import scenario
    from fleet.usage import fleet_mode

    yaml = YAML()
    doc = yaml.load((ROOT / "scenarios" / "commute_10y_miami.yaml").read_text())
    doc["units"]["battery"]["fmu"] = str(battery_fmu)
    doc.pop("outputs", None)
    doc.pop("plots", None)
    results = {}
    for mode in ("full", "fleet"):
        if mode == "fleet":
            doc = fleet_mode(doc)
        path = tmp_path / f"{mode}.yaml"
        with path.open("w") as fh:
            yaml.dump(doc, fh)
        report = scenario.run(path, output=tmp_path / f"{mode}.h5", duration=21 * 86400.0)
        results[mode] = {label: value for label, value, _ in report.summary}
    full, fleet = results["full"], results["fleet"]
    energy = "energy at the battery terminals"
    assert fleet[energy] == pytest.approx(full[energy], rel=0.01)
    assert fleet["distance"] == pytest.approx(full["distance"], rel=1e-9)
    fade_full = 1 - full["SOH capacity at the end"]
    fade_fleet = 1 - fleet["SOH capacity at the end"]
    assert fade_fleet == pytest.approx(fade_full, rel=0.02)
    assert fleet["EFC"] == pytest.approx(full["EFC"], rel=0.01)


def test_packed_vehicle_keeps_the_equations_of_separate_units(tmp_path, battery_fmu):
    """One commuter for three weeks three ways: full resolution (separate vehicle and battery units, 1 s
    vehicle steps, the battery every 10 s), fleet mode through the FMU (10 s steps), and packed (the
    in-process pack inside the vehicle unit, 10 s sub-steps, 10 min macro steps)."""
    from fleet.task import run_vehicle

    v = _vehicle("vehicles: 1\nyears: 1\nannual_km: 16350\n", tmp_path)
    days = 21 * 86400.0
    runs = {
        name: run_vehicle({"vehicle": dataclasses.asdict(v), "battery": battery, "resolution": resolution,
                           "fmu": str(battery_fmu)}, duration=days)
        for name, battery, resolution in (("full", "in_process", "full"), ("fmu", "fmu", "fleet"),
                                          ("packed", "in_process", "fleet"))
    }
    full, fmu, packed = (runs[k]["table"] for k in ("full", "fmu", "packed"))
    assert runs["packed"]["steps"] * 8 < runs["fmu"]["steps"] < runs["full"]["steps"] / 8
    for t in (fmu, packed):
        assert t["distance_km"].sum() == pytest.approx(full["distance_km"].sum(), rel=1e-9)
    # the same 10 s grid and equations as the FMU's fleet mode: only the ambient temperature, held over a
    # macro step, and the 900 s charging steps differ
    assert packed["energy_kWh"].sum() == pytest.approx(fmu["energy_kWh"].sum(), rel=1e-3)
    assert packed["efc"].sum() == pytest.approx(fmu["efc"].sum(), rel=1e-3)
    assert packed["soh_capacity"][-1] == pytest.approx(fmu["soh_capacity"][-1], abs=1e-6)
    assert np.allclose(packed["c_rate_p99"], fmu["c_rate_p99"], atol=0.021)  # within one 0.02 C bin
    # against full resolution: the fleet-mode bounds
    assert packed["energy_kWh"].sum() == pytest.approx(full["energy_kWh"].sum(), rel=0.01)
    assert packed["efc"].sum() == pytest.approx(full["efc"].sum(), rel=0.01)
    fade_full, fade_packed = 1 - full["soh_capacity"][-1], 1 - packed["soh_capacity"][-1]
    assert fade_packed == pytest.approx(fade_full, rel=0.02)
    # and the decade's bound, SOH within 0.002 after 10 years, for these 3 weeks' share of the decade
    assert abs(packed["soh_capacity"][-1] - full["soh_capacity"][-1]) < 0.002 * 21 / 3650


def test_a_traced_vehicle_keeps_every_second_of_its_drives(tmp_path):
    import h5py

    from fleet import runner
    from fleet.store import FleetStore
    from fleet.task import run_vehicle

    (tmp_path / "fleet.yaml").write_text("vehicles: 2\nyears: 1\nbattery: in_process\ntraces: [v00001]\n")
    fleet = spec.load(tmp_path / "fleet.yaml")
    batch = runner.jobs(fleet, None, 1.0)
    assert [(j.payload["trace"], j.payload["resolution"]) for j in batch] == [(False, "fleet"), (True, "full")]
    result = run_vehicle(batch[1].payload, duration=86400.0)
    trace, day = result["trace"], result["table"]
    driving = np.diff(trace["vehicle.distance"]) > 0.0
    assert np.all(np.diff(trace["t"])[driving] == 1.0) and driving.sum() > 1000
    # the trace integrates to the day's summary: power means over each step, odometer at its end
    energy = np.sum(trace["vehicle.P_battery"][1:] * np.diff(trace["t"])) / 3.6e6
    assert energy == pytest.approx(day["energy_kWh"][0], rel=1e-9)
    assert trace["vehicle.distance"][-1] / 1000.0 == pytest.approx(day["distance_km"][0], rel=1e-12)
    assert trace["vehicle.speed"].max() > 20.0  # m/s: the HWFET part of the commute
    FleetStore(tmp_path / "out").save("v00001", result)
    with h5py.File(tmp_path / "out" / "vehicles" / "v00001.h5") as f:
        assert np.array_equal(f["trace/battery.SOC"][()], trace["battery.SOC"])
    (tmp_path / "bad.yaml").write_text("vehicles: 2\nyears: 1\ntraces: [v00002]\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml:3 traces: no vehicle 'v00002'"):
        spec.load(tmp_path / "bad.yaml")


def _run_cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "cosim.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


@pytest.mark.slow
def test_fleet_run_killed_midway_resumes_without_recomputing(tmp_path):
    from fleet.store import FleetStore, read_fleet_table
    from fleet.task import run_vehicle

    fleet_file = tmp_path / "tiny.yaml"
    fleet_file.write_text(TINY)
    out = tmp_path / "out"
    days = 10  # long enough that the kill comes while vehicles are still running
    args = ["fleet", "run", str(fleet_file), "-o", str(out), "--workers", "2", "--days", str(days)]
    proc = _run_cli(args, start_new_session=True)
    store = FleetStore(out)
    deadline = time.monotonic() + 240
    while not store.done() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the client and its whole local cluster
    proc.wait()
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.vehicles_dir.glob("*.h5")}
    assert 1 <= len(kept) < 5, "the run was to be killed midway"

    again = _run_cli(args)
    text, _ = again.communicate(timeout=300)
    assert again.returncode == 2 and "holds a fleet run already" in text and "Traceback" not in text

    resumed = _run_cli([*args, "--resume"])
    text, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, text
    assert f"{len(kept)} kept from before" in text
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in store.vehicles_dir.glob("*.h5")
            if p.name in kept} == kept
    assert store.done() == {f"v{i:05d}" for i in range(5)}
    table, vehicles = read_fleet_table(out)
    assert len(table["day"]) == 5 * days and list(vehicles["vehicle_id"]) == [f"v{i:05d}" for i in range(5)]
    # a vehicle from each run equals the same vehicle run here, in this process
    fleet = spec.load(fleet_file)
    for key in (sorted(kept)[0][:-3], sorted(set(store.done()) - {k[:-3] for k in kept})[0]):
        v = fleet.vehicles[int(key[1:])]
        mine = run_vehicle({"vehicle": dataclasses.asdict(v), "battery": "in_process", "resolution": "fleet"},
                           duration=days * 86400.0)["table"]
        _, theirs = store.read_vehicle(key)
        np.testing.assert_allclose(theirs["soh_capacity"], mine["soh_capacity"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(theirs["energy_kWh"], mine["energy_kWh"], rtol=1e-12)


def test_a_resumed_run_keeps_the_options_it_was_started_with(tmp_path):
    """Resuming a 10-day run without --days would add whole-span vehicles to it unnoticed."""
    from click.testing import CliRunner

    from cosim.cli import cli
    from fleet.store import FleetStore

    fleet_file = tmp_path / "tiny.yaml"
    fleet_file.write_text(TINY)
    out = tmp_path / "out"
    FleetStore(out).prepare(TINY, False, {"seed": 7, "days": 10.0, "traces": ["v00001"]})
    result = CliRunner().invoke(cli, ["fleet", "run", str(fleet_file), "-o", str(out), "--resume"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "--resume --days 10 --trace v00001" in " ".join(result.output.split())
    assert not (out / "vehicles").exists()  # refused before anything ran


def test_the_battery_twins_warnings_stay_with_the_vehicle(tmp_path):
    """A cold-climate car cycles below the aging law's fitted range: the note is kept in its file (and
    in the run's summary), not printed over the fleet's progress."""
    from fleet.store import FleetStore
    from fleet.task import run_vehicle

    model = FleetModel(vehicles=1, years=1, climates={"sand_point": 1}, parking={"street": 1})
    v = spec.draw(model, 0)
    result = run_vehicle({"vehicle": dataclasses.asdict(v), "battery": "in_process", "resolution": "fleet"},
                         duration=3 * 86400.0)
    assert any("outside the fitted 10-45 degC" in n for n in result["notes"]), result["notes"]
    store = FleetStore(tmp_path)
    store.prepare("x", False, {"seed": 0})
    store.save(v.vehicle_id, result)
    assert store.notes() == {v.vehicle_id: result["notes"]}


def test_progress_goes_to_a_log_file_as_lines():
    """Out of a terminal (a cluster job's log) a bar would show only at the end: lines show progress."""
    import io

    from rich.console import Console

    from fleet.runner import _Bar

    log = io.StringIO()
    bar = _Bar(Console(file=log, force_terminal=False), vehicles=3, done=1, done_years=2.0, log_every_s=0.0)
    with bar:
        bar.started(2)
        bar.update(4.0, 6.0, "v00001", True)
        bar.update(6.0, 6.0, "v00002", True)
    assert "2/3 vehicles," in log.getvalue() and "3/3 vehicles," in log.getvalue()


@pytest.mark.slow
def test_a_failing_vehicle_is_reported_and_the_others_finish(tmp_path):
    from cosim.batch import Job, run_batch
    from fleet.store import FleetStore
    from fleet.task import run_job

    model = FleetModel(vehicles=2, years=1, battery="in_process")
    jobs = []
    for i in range(2):
        v = dataclasses.asdict(spec.draw(model, i))
        if i == 1:
            v["preset"] = "no_such_car"
        payload = {"vehicle": v, "battery": "in_process", "resolution": "fleet", "duration": 2 * 86400.0}
        jobs.append(Job(v["vehicle_id"], payload))
    store = FleetStore(tmp_path)
    outcome = run_batch(jobs, run_job, store, workers=2)
    assert outcome.computed == ["v00000"] and list(outcome.failed) == ["v00001"]
    assert "no_such_car" in store.failures()["v00001"]
    assert store.done() == {"v00000"}


def _fake_vehicle(key: str, years: float, km_per_day: float, fade_per_year: float, efc: float, **attrs):
    days = np.arange(int(years * 365))
    table = {name: np.zeros(len(days)) for name in __import__("fleet.daily", fromlist=["COLUMNS"]).COLUMNS}
    table["day"] = days.astype(np.int32)
    table["distance_km"] = np.full(len(days), km_per_day)
    table["soh_capacity"] = 1.0 - fade_per_year * (days + 1) / 365.0
    table["efc"] = np.full(len(days), efc)
    row = {"vehicle_id": key, "preset": "model3_rwd_lfp", "climate": "miami", "style": "commute",
           "habit": "plug_in_90", "parking": "street", **attrs}
    return {"table": table, "annual_km": km_per_day * 365, "steps": 1, "cpu_s": 0.0, "wall_s": 0.0,
            "scenario": "", "vehicle": row}


def test_report_judges_each_vehicle_at_its_warranty_point(tmp_path):
    from fleet.report import Warranty, analyse, stressors
    from fleet.store import FleetStore

    store = FleetStore(tmp_path)
    store.prepare("x", False, {"seed": 0})
    # 40 km a day reaches 160 000 km after 4000 days (> 8 yr): judged at 8 years -> 1 - 8 * 0.03 = 0.76
    store.save("v00000", _fake_vehicle("v00000", 9, 40.0, 0.03, 0.5))
    # 80 km a day reaches 160 000 km on day 2000 (5.48 yr) -> 1 - 2000/365 * 0.06 = 0.671
    store.save("v00001", _fake_vehicle("v00001", 9, 80.0, 0.06, 1.5, habit="fast_daily"))
    store.save("v00002", _fake_vehicle("v00002", 9, 30.0, 0.01, 0.4))
    store.write_fleet_table()
    w = Warranty.parse("8 yr, 160000 km, 0.7")
    a = analyse(tmp_path, w)
    np.testing.assert_allclose(a["soh_w"], [1 - 8 * 0.03, 1 - 2000 / 365 * 0.06, 1 - 8 * 0.01], atol=1e-3)
    assert a["reached"].all()
    assert "EFC per day 1.5" in stressors(a, 1)
    assert Warranty.parse("160000 km, 70 %, 8 yr") == w


def test_report_reads_the_finished_vehicles_of_a_killed_run(tmp_path):
    """A run killed before its end leaves vehicle files and no fleet table; the report still reads them."""
    from fleet.report import Warranty, analyse
    from fleet.store import FleetStore

    store = FleetStore(tmp_path)
    store.prepare("x", False, {"seed": 0})
    for i in range(2):
        store.save(f"v{i:05d}", _fake_vehicle(f"v{i:05d}", 1, 40.0, 0.02 * (i + 1), 0.5))
    w = Warranty.parse("8 yr, 160000 km, 0.7")
    a = analyse(tmp_path, w)
    assert a["partial"] and len(a["per"]) == 2
    np.testing.assert_allclose(a["soh_w"], [1 - 0.02, 1 - 0.04], atol=1e-9)  # judged at the last day
    store.write_fleet_table()
    assert not analyse(tmp_path, w)["partial"]


def test_report_command_writes_the_plot_and_refuses_a_bad_warranty(tmp_path):
    from click.testing import CliRunner

    from cosim.cli import cli
    from fleet.store import FleetStore

    store = FleetStore(tmp_path)
    store.prepare("x", False, {"seed": 0})
    for i in range(3):
        vehicle = _fake_vehicle(f"v{i:05d}", 2, 50.0, 0.1 * (i + 1), 0.5 * (i + 1))
        vehicle["table"]["t_cell_mean_degC"][:] = 20.0 + 5.0 * i
        store.save(f"v{i:05d}", vehicle)
    store.write_fleet_table()
    runner = CliRunner()
    result = runner.invoke(cli, ["fleet", "report", str(tmp_path), "--warranty", "1 yr, 100000 km, 0.85"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # as read, whatever the terminal's width
    assert "under 85%: 66.7%" in text and "v00002" in text
    assert "mean cell temperature [degC] 30 (fleet median 25)" in text  # units survive the console's markup
    assert "36,500 │" in text and "e+0" not in text  # km as a reader writes them: 2 years at 50 km a day
    assert (tmp_path / "report.png").stat().st_size > 10_000
    bad = runner.invoke(cli, ["fleet", "report", str(tmp_path), "--warranty", "eight years"])
    assert bad.exit_code == 2 and "--warranty" in bad.output and "Traceback" not in bad.output


def test_a_worker_process_extracts_an_fmu_once(battery_fmu):
    code = (
        "import os, sys\n"
        "from cosim.fmu import FMUUnit\n"
        "from cosim.fmu.extraction import share_extractions\n"
        "plain = FMUUnit(sys.argv[1], 'plain'); own = plain._unzipdir; plain.terminate()\n"
        "assert not os.path.exists(own)\n"
        "share_extractions()\n"
        "a = FMUUnit(sys.argv[1], 'a'); folder = a._unzipdir; a.terminate()\n"
        "b = FMUUnit(sys.argv[1], 'b'); assert b._unzipdir == folder and os.path.isdir(folder); b.terminate()\n"
        "print(folder)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(battery_fmu)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not Path(done.stdout.strip()).exists()  # removed when the process exits


def test_manufacturing_variation_is_drawn_per_vehicle_and_kept_as_truth():
    variation = pytest.importorskip("battery_fmu.variation", reason="the battery twin has no variation parameters")
    from fleet import usage
    from fleet.task import run_vehicle

    model = FleetModel(vehicles=1, years=1, battery="in_process")
    drawn = [spec.draw(model, i) for i in range(400)]
    # the spread the battery twin states, within sampling error (the draws are cut at 3 sd)
    capacity = np.array([v.variation["capacity_factor"] for v in drawn])
    cycle = np.log([v.variation["cycle_fade_factor"] for v in drawn])
    assert capacity.std() == pytest.approx(variation.SPREAD.capacity_sd, rel=0.15)
    assert cycle.std() == pytest.approx(variation.SPREAD.cycle_log_sd, rel=0.15)
    v = drawn[0]
    parameters = usage.scenario(v, battery="fmu")["units"]["battery"]["parameters"]
    assert {k: parameters[k] for k in v.variation} == v.variation
    parameters = usage.scenario(v, battery="in_process")["units"]["vehicle"]["settings"]["battery"]
    assert {k: parameters[k] for k in v.variation} == v.variation
    assert v.as_row()["truth_capacity_factor"] == v.variation["capacity_factor"]
    # SOH is reported against the nominal capacity: a new pack starts at its capacity factor
    table = run_vehicle({"vehicle": dataclasses.asdict(v), "battery": "in_process", "resolution": "fleet"},
                        duration=86400.0)["table"]
    assert table["soh_capacity"][0] == pytest.approx(v.variation["capacity_factor"], abs=2e-3)


def test_validate_checks_fleet_files(tmp_path):
    from click.testing import CliRunner

    from cosim.cli import cli

    runner = CliRunner()
    shipped = runner.invoke(cli, ["validate", str(ROOT / "fleets" / "small.yaml"), str(ROOT / "fleets" / "large.yaml")])
    assert shipped.exit_code == 0, shipped.output
    assert "10000 vehicle-years" in shipped.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("vehicles: 3\nyears: 1\nstyles: {city: 1, sunday_driver: 1}\nclimates: {atlantis: 1}\n")
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "bad.yaml:3" in result.output and "sunday_driver" in result.output
    assert "bad.yaml:4" in result.output and "atlantis" in result.output
    bad.write_text("vehicles: 3\nyears: 1\ncharging: {plug_in_90: -1}\nstyles: {city: 0}\n")
    result = runner.invoke(cli, ["fleet", "run", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "bad.yaml:3 charging.plug_in_90: found -1" in result.output and "bad.yaml:4 styles" in result.output
    bad.write_text("")
    result = runner.invoke(cli, ["fleet", "run", str(bad), "-o", str(tmp_path / "out")])
    assert "bad.yaml:1 the fleet file is empty" in result.output and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_fleet_runs_on_an_existing_cluster(tmp_path):
    """`dask scheduler` and `dask worker` started as docs/fleet.md says, and --scheduler pointing at them."""
    import re

    from fleet.store import FleetStore

    bin_dir = Path(sys.executable).parent
    log = (tmp_path / "scheduler.log").open("w")
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--dashboard-address", ":0"], stdout=log, stderr=subprocess.STDOUT)
    worker = None
    try:
        address = None
        deadline = time.monotonic() + 60
        while address is None and time.monotonic() < deadline:
            time.sleep(0.2)
            found = re.search(r"Scheduler at:\s+(tcp://\S+)", (tmp_path / "scheduler.log").read_text())
            address = found.group(1) if found else None
        assert address, (tmp_path / "scheduler.log").read_text()
        worker = subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nworkers", "2", "--nthreads", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fleet_file = tmp_path / "tiny.yaml"
        fleet_file.write_text(TINY.replace("vehicles: 5", "vehicles: 3"))
        out = tmp_path / "out"
        run = _run_cli(["fleet", "run", str(fleet_file), "-o", str(out), "--scheduler", address, "--days", "3"])
        text, _ = run.communicate(timeout=300)
        assert run.returncode == 0, text
        assert FleetStore(out).done() == {"v00000", "v00001", "v00002"}

        # The scheduler killed midway: one line that says so and how to finish, no vehicle marked failed.
        fleet_file.write_text(TINY)
        lost = FleetStore(tmp_path / "lost")
        env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
        run = _run_cli(["fleet", "run", str(fleet_file), "-o", str(lost.root), "--scheduler", address,
                        "--days", "20"], env=env)
        deadline = time.monotonic() + 240
        while not lost.done() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        scheduler.kill()
        text, _ = run.communicate(timeout=300)
        assert run.returncode == 1 and "Traceback" not in text, text
        assert "lost the Dask scheduler at" in text and "--resume --days 20" in " ".join(text.split())
        assert 1 <= len(lost.done()) < 5 and not lost.failures()
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
        log.close()

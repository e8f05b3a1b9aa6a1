"""Recorded logs as the BeamNG prototype saved them (two files merged on time), cut-off arrays, repeated
times, the battery's discharge limit on a replay, and the shipped replay scenario."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from bridges.errors import TelemetryError
from bridges.ev_model import VehicleParams, aux_power
from bridges.presets import get_preset
from bridges.replay import LogReplayUnit
from cosim.errors import EvtwinWarning

ROOT = Path(__file__).resolve().parents[1]
PARAMS = VehicleParams.from_preset(get_preset("model3_rwd_lfp"))
SPEED = 15.0  # [m/s]
AV = SPEED * PARAMS.gear_ratio / PARAMS.wheel_radius  # the motor speed that goes with it [rad/s]
TORQUE = 100.0  # [N m]
#: Battery power of the steady drive: the motor's electrical power plus the auxiliaries at 23 degC.
STEADY = PARAMS.motor.electrical_power(TORQUE, AV) + aux_power(PARAMS, 296.15, True)


def play(unit: LogReplayUnit, steps: int, inputs: dict | None = None) -> list[dict]:
    names = sorted(inputs or {})
    unit.bind(names, [])
    unit.setup(0.0)
    unit.set_inputs([inputs[n] for n in names])
    rows = []
    for k in range(steps):
        unit.do_step(float(k), 1.0)
        rows.append({p.name: getattr(unit, p.name) for p in unit.ports() if p.causality == "output"})
    return rows


def powertrain(times, torque=TORQUE) -> list[dict]:
    """PowertrainSensor readings: devices at the top level, no electrics."""
    return [{"time": t, "rearMotor": {"outputTorque1": torque, "outputAV1": AV, "inputAV": 0.0},
             "rearDiff": {"outputTorque1": 9 * torque, "outputAV1": AV / 9}} for t in times]  # fmt: skip


def electrics(times) -> list[dict]:
    """Electrics values at the top level of each sample, as the Electrics sensor gives them."""
    return [{"time": t, "wheelspeed": SPEED, "regenThrottle": 0.0, "regenStrength": 3.0} for t in times]


def prototype_folder(folder: Path, stamp: str = "20250612_143000", p_times=None, e_times=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p_times = [0.25 * k for k in range(81)] if p_times is None else p_times  # 4 Hz for 20 s
    e_times = [float(k) for k in range(21)] if e_times is None else e_times  # 1 Hz
    (folder / f"powertrain_{stamp}.json").write_text(json.dumps(powertrain(p_times)))
    (folder / f"electrics_{stamp}.json").write_text(json.dumps(electrics(e_times)))
    (folder / f"analysis_{stamp}.json").write_text(json.dumps({"summary": "not a log"}))
    return folder


# --- two files merged on time ---------------------------------------------------------------------
def test_the_prototype_folder_replays_its_two_files_merged_on_time(tmp_path):
    folder = prototype_folder(tmp_path / "battery_sensor_data")
    rows = play(LogReplayUnit(str(folder)), 20)
    assert [r["P_battery"] for r in rows] == pytest.approx([STEADY] * 20, rel=1e-12)
    assert rows[-1]["distance"] == pytest.approx(SPEED * 20) and rows[-1]["motor_speed"] == pytest.approx(AV)
    # the same two files named one by one replay identically
    pair = LogReplayUnit(str(folder / "electrics_20250612_143000.json"),
                         powertrain_path=str(folder / "powertrain_20250612_143000.json"))  # fmt: skip
    assert play(pair, 20) == rows


def test_a_folder_of_several_runs_asks_which(tmp_path):
    folder = prototype_folder(tmp_path / "logs", "20250612_143000")
    prototype_folder(folder, "20250613_090000")
    several = r"2 recorded runs \(20250612_143000, 20250613_090000\); name one with the `run` setting"
    with pytest.raises(TelemetryError, match=several):
        LogReplayUnit(str(folder))
    assert LogReplayUnit(str(folder), run="20250613").rec.end == 20.0
    (folder / "powertrain_20250613_090000.json").unlink()
    alone = r"no pair of electrics_\*\.json and powertrain_\*\.json files for run '20250613' \(found only "
    with pytest.raises(TelemetryError, match=alone + r"electrics_20250613_090000\.json\)"):
        LogReplayUnit(str(folder), run="20250613")


def test_two_files_on_different_clocks_are_refused(tmp_path):
    folder = prototype_folder(tmp_path / "logs", e_times=[1.7e9 + k for k in range(21)])  # wall-clock stamps
    with pytest.raises(TelemetryError, match=r"the powertrain samples span t = 0 to 20 s and the electrics "
                       r"samples t = 1\.7e\+09 to .*do not overlap"):  # fmt: skip
        LogReplayUnit(str(folder))


def test_an_error_in_one_of_the_two_files_names_that_file_and_sample(tmp_path):
    folder = prototype_folder(tmp_path / "logs")
    samples = electrics([float(k) for k in range(21)])
    samples[4]["wheelspeed"] = "fast"
    (folder / "electrics_20250612_143000.json").write_text(json.dumps(samples))
    bad = r"electrics_20250612_143000\.json: sample 5 \(t = 4 s\): electrics\.wheelspeed is 'fast', expected"
    with pytest.raises(TelemetryError, match=bad):
        LogReplayUnit(str(folder))


# --- cut-off arrays and repeated times ------------------------------------------------------------
@pytest.mark.parametrize("wrapped", [False, True], ids=["array", "samples-object"])
def test_a_cut_off_json_array_replays_its_complete_samples_with_drop_partial_tail(tmp_path, wrapped):
    samples = [s | e for s, e in zip(powertrain(range(10)), electrics(range(10)), strict=True)]
    text = json.dumps({"samples": samples} if wrapped else samples, indent=1)
    cut = text[: text.index('"time": 7')]  # the writer died inside the eighth sample
    path = tmp_path / "cut.json"
    path.write_text(cut)
    with pytest.raises(TelemetryError, match=r"the JSON ends early \(a partial log\?\); set "
                       r"`drop_partial_tail: true` to replay the samples before the cut"):  # fmt: skip
        LogReplayUnit(str(path))
    unit = LogReplayUnit(str(path), drop_partial_tail=True)
    assert unit.rec.end == 6.0 and list(unit.rec.t) == [0, 1, 2, 3, 4, 5, 6]
    assert play(unit, 6)[-1]["P_battery"] == pytest.approx(STEADY, rel=1e-12)
    broken = text.replace('"time": 3', '"time": 3,,', 1)  # not a cut: a malformed file stays refused
    path.write_text(broken)
    with pytest.raises(TelemetryError, match=r"invalid JSON"):
        LogReplayUnit(str(path), drop_partial_tail=True)


def test_repeated_times_are_refused_naming_the_sample_or_dropped_by_the_setting(tmp_path):
    times = [0.0, 1.0, 2.0, 2.0, 3.0, 4.0]
    samples = [s | e for s, e in zip(powertrain(times), electrics(times), strict=True)]
    samples[3]["rearMotor"]["outputTorque1"] = 5 * TORQUE  # the repeat says something else
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(samples))
    repeat = r"dup\.json: sample 4: time 2 s repeats the time of the powertrain sample before \(sample 3\)"
    with pytest.raises(TelemetryError, match=repeat + r"; set `duplicate_times: drop`"):
        LogReplayUnit(str(path))
    unit = LogReplayUnit(str(path), duplicate_times="drop")
    assert list(unit.rec.t) == [0.0, 1.0, 2.0, 3.0, 4.0] and list(unit.rec.speed_t) == list(unit.rec.t)
    assert [r["P_battery"] for r in play(unit, 4)] == pytest.approx([STEADY] * 4, rel=1e-12)  # the first kept
    with pytest.raises(TelemetryError, match=r"duplicate_times is 'keep'; expected one of refuse, drop"):
        LogReplayUnit(str(path), duplicate_times="keep")


# --- the battery's discharge limit ----------------------------------------------------------------
def test_discharge_limit_caps_the_drawn_power_and_records_the_rest_as_unmet(tmp_path):
    folder = prototype_folder(tmp_path / "logs")
    ceiling = 0.6 * STEADY
    free = play(LogReplayUnit(str(folder)), 20)
    unit = LogReplayUnit(str(folder))
    said = r"could not deliver 0\.\d+ kWh of the recorded drive \(P_unmet; 20 s above P_discharge_max\)"
    with pytest.warns(EvtwinWarning, match=said):
        limited = play(unit, 20, inputs={"P_discharge_max": ceiling})
        unmet_kwh = float(unit.metadata()["unmet_energy_kWh"])
        assert unmet_kwh == pytest.approx(0.4 * STEADY * 20 / 3.6e6, rel=1e-5)
        unit.terminate()
    assert all(r["P_battery"] == pytest.approx(ceiling, rel=1e-12) for r in limited)
    for f, lim in zip(free, limited, strict=True):  # energy is neither made nor lost: drawn + unmet = asked
        assert lim["P_battery"] + lim["P_unmet"] == pytest.approx(f["P_battery"], rel=1e-12)
        assert f["P_unmet"] == 0.0 and lim["distance"] == f["distance"]  # the recorded car drove regardless


def test_a_replay_within_the_limit_warns_nothing(tmp_path):
    unit = LogReplayUnit(str(prototype_folder(tmp_path / "logs")))
    rows = play(unit, 5, inputs={"P_discharge_max": 2 * STEADY})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit.terminate()
    assert all(r["P_unmet"] == 0.0 for r in rows)


def test_discharge_limit_on_a_results_file_replay(tmp_path):
    pytest.importorskip("h5py")
    from test_replay import write_results

    t = np.arange(0.0, 6.0)
    p_batt = np.array([0.0, 10e3, 40e3, 80e3, -20e3, 30e3])
    path = tmp_path / "run.h5"
    write_results(path, "car", t, {"P_battery": p_batt, "speed": np.full(6, 10.0)})
    rows = play(LogReplayUnit(str(path)), 5, inputs={"P_discharge_max": 35e3, "P_charge_max": 1e9})
    assert [r["P_battery"] for r in rows] == pytest.approx([10e3, 35e3, 35e3, -20e3, 30e3])
    assert [r["P_unmet"] for r in rows] == pytest.approx([0.0, 5e3, 45e3, 0.0, 0.0])


# --- the shipped example ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay_run(tmp_path_factory, battery_fmu):
    from cosim import scenario
    from cosim.results import read_result

    work = tmp_path_factory.mktemp("replay")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = scenario.run(ROOT / "scenarios" / "replay.yaml", output=work / "replay.h5")
    return outcome, read_result(work / "replay.h5"), [str(w.message) for w in caught]


def test_the_shipped_example_log_replays_the_energy_it_was_made_from(battery_fmu):
    # The example was written from the built-in EV model on the first 180 s of US06: replayed without
    # limits, it gives back that drive's distance and energy (its samples are rounded: to 0.1 %).
    from bridges.vehicle_unit import EVUnit

    car = EVUnit(preset="model3_rwd_lfp", cycle="us06", regen_strength=3)
    car.bind([], [])
    car.setup(0.0)
    energy = 0.0
    for k in range(360):
        car.do_step(0.5 * k, 0.5)
        energy += 0.5 * car.P_battery
    rows = play(LogReplayUnit(str(ROOT / "scenarios" / "data" / "battery_sensor_data")), 180)
    assert sum(r["P_battery"] for r in rows) == pytest.approx(energy, rel=1e-3)
    assert rows[-1]["distance"] == pytest.approx(car.distance, rel=1e-5)


def test_the_shipped_replay_scenario_says_the_battery_left_demand_unmet(replay_run):
    outcome, result, said = replay_run
    unmet = result["vehicle.P_unmet"].values
    drawn = result["vehicle.P_battery"].values
    limit = result["battery.P_discharge_max"].values
    assert unmet.max() > 10e3  # the cold, empty pack could not power the hardest accelerations
    # what the replay drew stays within the limit the battery gave one step before (delay: 1)
    assert np.all(drawn[1:] <= limit[:-1] * (1 + 1e-9) + 1e-6)
    assert any("could not deliver" in m and "P_unmet" in m for m in said)
    rows = {label: value for label, value, _ in outcome.summary}
    assert rows["energy the battery could not deliver"] > 0.01  # kWh


def test_copying_the_replay_scenario_brings_its_recording(tmp_path):
    import scenarios as shipped
    from cosim import scenario

    written = shipped.copy("replay", tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "data/battery_sensor_data/electrics_20250612_143000.json",
        "data/battery_sensor_data/powertrain_20250612_143000.json",
        "replay.yaml",
    ]
    plan = scenario.check(tmp_path / "replay.yaml")  # the copy finds its log (and builds a missing FMU)
    assert plan.units["vehicle"].make().rec.end == 180.0

"""Recorded-log replay: BeamNG-style JSON logs, the bridge's own logs, and earlier results files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bridges.errors import TelemetryError
from bridges.ev_model import VehicleParams, aux_power
from bridges.presets import get_preset
from bridges.replay import LogReplayUnit
from cosim.errors import EvtwinWarning


def play(unit: LogReplayUnit, steps: int, h: float = 1.0, inputs: dict | None = None) -> list[dict]:
    names = sorted(inputs or {})
    unit.bind(names, [])
    unit.setup(0.0)
    unit.set_inputs([inputs[n] for n in names])
    rows = []
    for k in range(steps):
        unit.do_step(k * h, h)
        rows.append({p.name: getattr(unit, p.name) for p in unit.ports() if p.causality == "output"})
    return rows


def sample(t: float, torque: float, av: float, speed: float | None = 10.0) -> dict:
    s = {
        "time": t,
        "powertrain": {
            "rearMotor": {"outputTorque1": torque, "outputAV1": av},
            "rearDiff": {"outputTorque1": torque * 9, "outputAV1": av / 9},
        },
    }
    if speed is not None:
        s["electrics"] = {"wheelspeed": speed, "regenThrottle": 0.0}
    return s


def test_constant_power_log_replays_exactly(tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps([sample(0.5 * k, 100.0, 300.0) for k in range(41)]))  # 20 s
    unit = LogReplayUnit(str(path), preset="model3_rwd_lfp")
    rows = play(unit, 20)
    p = VehicleParams.from_preset(get_preset("model3_rwd_lfp"))
    expected = p.motor.electrical_power(100.0, 300.0) + aux_power(p, 296.15, True)
    assert all(r["P_battery"] == pytest.approx(expected, rel=1e-12) for r in rows)
    assert rows[-1]["distance"] == pytest.approx(200.0) and rows[-1]["speed"] == 10.0
    assert rows[-1]["motor_torque"] == pytest.approx(100.0)


def test_powertrain_poll_result_and_regen_clipping(tmp_path):
    # the shape PowertrainSensor.poll() returns: readings keyed 1, 2, ... with devices at the top level
    readings = {
        str(k + 1): {"time": float(k), "rearMotor": {"outputTorque1": -200.0, "outputAV1": 500.0}}
        for k in range(11)
    }
    speeds = [{"time": float(k), "electrics": {"wheelspeed": 18.0}} for k in range(11)]
    log = tmp_path / "poll.json"
    log.write_text(json.dumps({"samples": [readings[str(k + 1)] | speeds[k] for k in range(11)]}))
    free = play(LogReplayUnit(str(log)), 10, inputs={"P_charge_max": 1e9})
    limited = play(LogReplayUnit(str(log)), 10, inputs={"P_charge_max": 20e3})
    assert free[0]["P_battery"] < -60e3
    assert all(r["P_battery"] == pytest.approx(-20e3) for r in limited)
    assert all(r["P_regen"] > 0 for r in limited)
    poll_only = tmp_path / "poll_only.json"
    poll_only.write_text(json.dumps({str(k + 1): readings[str(k + 1)] | speeds[k] for k in range(11)}))
    assert play(LogReplayUnit(str(poll_only)), 3, inputs={"P_charge_max": 1e9})[0][
        "P_battery"
    ] == pytest.approx(free[0]["P_battery"])


def test_end_of_log_stands_still_or_loops(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(sample(float(k), 50.0, 200.0)) for k in range(6)) + "\n")
    rows = play(LogReplayUnit(str(path)), 8)
    assert rows[4]["log_done"] == 0.0 and rows[5]["log_done"] == 1.0
    assert (
        rows[7]["P_battery"] == 0.0 and rows[7]["speed"] == 0.0 and rows[7]["distance"] == pytest.approx(50.0)
    )
    looped = play(LogReplayUnit(str(path), loop=True), 12)
    assert looped[-1]["log_done"] == 0.0 and looped[-1]["distance"] == pytest.approx(120.0)
    assert looped[7]["P_battery"] == pytest.approx(looped[2]["P_battery"])


def test_malformed_sample_is_named(tmp_path):
    path = tmp_path / "log.json"
    samples = [sample(0.0, 1.0, 1.0), sample(0.5, 1.0, 1.0), sample(1.0, 1.0, 1.0)]
    samples[2]["powertrain"]["rearMotor"]["outputTorque1"] = "abc"
    path.write_text(json.dumps(samples))
    with pytest.raises(
        TelemetryError,
        match=r"log\.json: sample 3 \(t = 1 s\): rearMotor\.outputTorque1 is 'abc', "
        r"expected a number",
    ):
        LogReplayUnit(str(path))
    del samples[2]["powertrain"]["rearMotor"]["outputAV1"]
    samples[2]["powertrain"]["rearMotor"]["outputTorque1"] = 3.0
    path.write_text(json.dumps(samples))
    with pytest.raises(TelemetryError, match=r"sample 3 \(t = 1 s\): rearMotor\.outputAV1 is None"):
        LogReplayUnit(str(path))
    path.write_text(json.dumps([sample(0.0, 1.0, 1.0), {"electrics": {"wheelspeed": 3.0}}]))
    with pytest.raises(TelemetryError, match=r"sample 2: no 'time'"):
        LogReplayUnit(str(path))
    path.write_text(json.dumps([sample(0.0, 1.0, 1.0), sample(1.0, 1.0, 1.0), sample(0.5, 1.0, 1.0)]))
    with pytest.raises(
        TelemetryError, match=r"sample 3: time 0.5 s is not after 1 s of the powertrain sample before"
    ):
        LogReplayUnit(str(path))
    path.write_text(
        json.dumps(
            [
                {
                    "time": 0.0,
                    "rearDiff": {"outputTorque1": 1.0, "outputAV1": 2.0},
                    "electrics": {"wheelspeed": 1.0},
                }
            ]
        )
    )
    with pytest.raises(
        TelemetryError,
        match=r"sample 1 \(t = 0 s\): no motor device among the powertrain devices "
        r"\(rearDiff\); name them with the `motor_devices` setting",
    ):
        LogReplayUnit(str(path))


def test_partial_logs_are_named_and_can_be_trimmed(tmp_path):
    av = plausible_av(10.0)
    full = json.dumps([sample(float(k), 1.0, av) for k in range(5)], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(full[: len(full) // 2])
    with pytest.raises(
        TelemetryError, match=r"cut\.json: line \d+ column \d+: the JSON ends early \(a partial log\?\)"
    ):
        LogReplayUnit(str(path))
    path.write_text(full.replace('"powertrain"', '"powertrain" "x"', 1))
    with pytest.raises(
        TelemetryError, match=r"cut\.json: line 4 column \d+: invalid JSON: Expecting ':' delimiter"
    ):
        LogReplayUnit(str(path))
    lines = [json.dumps(sample(float(k), 1.0, av)) for k in range(7)]
    jl = tmp_path / "cut.jsonl"
    jl.write_text("\n".join(lines[:6] + [lines[6][:25]]))
    with pytest.raises(
        TelemetryError,
        match=r"sample 7 \(line 7\) is cut off \(a partial log\?\); set "
        r"`drop_partial_tail: true`",
    ):
        LogReplayUnit(str(jl))
    unit = LogReplayUnit(str(jl), drop_partial_tail=True)
    assert unit.rec.end == 5.0
    jl.write_text("\n".join(lines[:3] + ["{oops"] + lines[3:]))
    with pytest.raises(TelemetryError, match=r"sample 4 \(line 4\) is not valid JSON"):
        LogReplayUnit(str(jl))


def test_missing_file_and_empty_log(tmp_path):
    with pytest.raises(TelemetryError, match=r"cannot read telemetry log '.*nothing\.json'"):
        LogReplayUnit(str(tmp_path / "nothing.json"))
    (tmp_path / "empty.json").write_text("  \n")
    with pytest.raises(TelemetryError, match=r"empty\.json: the telemetry log is empty"):
        LogReplayUnit(str(tmp_path / "empty.json"))
    (tmp_path / "nospeed.json").write_text(json.dumps([sample(0.0, 1.0, 1.0, speed=None)]))
    with pytest.raises(TelemetryError, match=r"no speed samples \(electrics\.wheelspeed"):
        LogReplayUnit(str(tmp_path / "nospeed.json"))


def test_replay_of_a_beamng_run_log_reproduces_its_energy(tmp_path):
    pytest.importorskip("beamngpy")
    from beamng_server import FakeBeamNG

    from bridges.beamng import BeamNGUnit

    srv = FakeBeamNG()
    port = srv.start()
    log = tmp_path / "beamng.jsonl"
    try:
        unit = BeamNGUnit(port=port, driver="ai", speed_limit_kph=90, log_path=str(log))
        unit.bind([], [])
        unit.setup(0.0)
        recorded = []
        for k in range(40):
            unit.do_step(float(k), 1.0)
            recorded.append((unit.P_battery, unit.speed, unit.distance))
        unit.terminate()
    finally:
        srv.stop()
    replayed = play(LogReplayUnit(str(log), preset="model3_rwd_lfp"), 40)
    assert sum(r["P_battery"] for r in replayed) == pytest.approx(sum(r[0] for r in recorded), rel=1e-4)
    assert [r["speed"] for r in replayed] == pytest.approx([r[1] for r in recorded], abs=1e-12)
    assert replayed[-1]["distance"] == pytest.approx(recorded[-1][2], rel=1e-9)


def write_results(path, unit: str, t, signals: dict) -> None:
    """A results file in the engine's layout: /time/<group>, /signals/<unit>/<port> (attr `time`)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["format"] = "evtwin-result 1"
        f.attrs["status"] = "interrupted"
        f.create_dataset("time/main", data=np.asarray(t, dtype=float))
        for port, values in signals.items():
            ds = f.create_dataset(f"signals/{unit}/{port}", data=np.asarray(values, dtype=float))
            ds.attrs["time"] = "/time/main"


def test_results_file_of_an_earlier_run_replays_step_means(tmp_path):
    pytest.importorskip("h5py")
    t = np.arange(0.0, 11.0)
    p_batt = np.r_[0.0, np.linspace(5e3, -30e3, 10)]
    p_aux = np.r_[0.0, np.full(10, 300.0)]
    speed = np.linspace(0.0, 20.0, 11)
    path = tmp_path / "run.h5"
    write_results(path, "car", t, {"P_battery": p_batt, "P_aux": p_aux, "speed": speed, "distance": 10 * t})
    rows = play(LogReplayUnit(str(path)), 10)
    assert [r["P_battery"] for r in rows] == pytest.approx(p_batt[1:].tolist())
    assert [r["speed"] for r in rows] == pytest.approx(speed[1:].tolist())
    assert rows[-1]["distance"] == pytest.approx(100.0)
    clipped = play(LogReplayUnit(str(path)), 10, inputs={"P_charge_max": 10e3})
    assert min(r["P_battery"] for r in clipped) == pytest.approx(-10e3)
    halves = play(LogReplayUnit(str(path)), 20, h=0.5)
    assert sum(r["P_battery"] * 0.5 for r in halves) == pytest.approx(float(np.sum(p_batt[1:])))


def test_results_file_errors_name_what_is_missing(tmp_path):
    pytest.importorskip("h5py")
    path = tmp_path / "run.h5"
    write_results(path, "car", [0.0, 1.0], {"P_battery": [0.0, 1.0]})
    with pytest.raises(TelemetryError, match=r"no units with P_battery and speed"):
        LogReplayUnit(str(path))
    with pytest.raises(TelemetryError, match=r"unit 'car' has no recorded 'speed' \(recorded: P_battery\)"):
        LogReplayUnit(str(path), unit="car")
    with pytest.raises(TelemetryError, match=r"no unit 'truck' in the results \(units: car\)"):
        LogReplayUnit(str(path), unit="truck")


def test_replay_unit_ports_and_outputs_meet_the_vehicle_contract(tmp_path):
    from bridges.vehicle_contract import output_problems, port_problems

    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(sample(float(k), 80.0 - 20 * k, 300.0)) for k in range(8)))
    unit = LogReplayUnit(str(path))
    assert port_problems(unit) == []
    unit.bind([], [])
    unit.setup(0.0)
    assert output_problems(unit) == []
    for k in range(10):
        unit.do_step(float(k), 1.0)
        assert output_problems(unit) == []


# --- plausibility ---------------------------------------------------------------------------------
def plausible_av(speed: float, preset: str = "model3_rwd_lfp") -> float:
    """Motor speed [rad/s] of the preset's car at wheel speed ``speed`` [m/s]."""
    p = VehicleParams.from_preset(get_preset(preset))
    return speed * p.gear_ratio / p.wheel_radius


def drive_log(n: int = 60, speed_scale: float = 1.0, av_scale: float = 1.0, torque: float = 100.0,
              times=None) -> list[dict]:
    """A steady 15 m/s drive sampled every second, with unit mistakes planted on request."""
    times = list(range(n)) if times is None else times
    return [sample(float(t), torque, plausible_av(15.0) * av_scale, 15.0 * speed_scale) for t in times]


def test_a_plausible_log_replays(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(drive_log()))
    assert LogReplayUnit(str(path)).rec.end == 59.0


def test_motor_speed_in_rpm_is_refused_naming_the_sample(tmp_path):
    path = tmp_path / "rpm.json"
    path.write_text(json.dumps(drive_log(av_scale=60 / (2 * math.pi))))
    with pytest.raises(TelemetryError, match=r"rpm\.json: sample 1 \(t = 0 s\): motor speed \d+ rad/s is "
                       r"above the preset's maximum .* rpm instead of rad/s"):
        LogReplayUnit(str(path))


def test_wheel_speed_in_km_h_is_refused_naming_the_sample(tmp_path):
    path = tmp_path / "kmh.json"
    path.write_text(json.dumps(drive_log(speed_scale=3.6)))
    with pytest.raises(TelemetryError, match=r"kmh\.json: sample 1 \(t = 0 s\): motor speed .* is 0\.28 times "
                       r"wheel speed x gear ratio / radius .* wheel speed in km/h instead of m/s"):
        LogReplayUnit(str(path))


def test_power_above_the_motor_peak_is_refused(tmp_path):
    path = tmp_path / "peak.json"
    peak = VehicleParams.from_preset(get_preset("model3_rwd_lfp")).motor.peak_power
    torque = 1.5 * peak / plausible_av(15.0)
    path.write_text(json.dumps(drive_log(torque=torque)))
    with pytest.raises(TelemetryError, match=r"sample 1 \(t = 0 s\): motor power \d+ kW is above the preset's peak"):
        LogReplayUnit(str(path))


def test_a_gap_is_a_warning_naming_the_sample_after_it(tmp_path):
    path = tmp_path / "gap.json"
    path.write_text(json.dumps(drive_log(times=[*range(30), *range(330, 360)])))
    with pytest.warns(EvtwinWarning, match=r"sample 31: a gap of 301 s in the powertrain samples after "
                      r"t = 29 s \(usually 1 s\)"):
        LogReplayUnit(str(path))


def test_an_error_quoting_a_sample_is_bounded(tmp_path):
    # a log of column lists: each field holds a whole column, not a number
    n = 5000
    columns = {"time": list(range(n)), "electrics": {"wheelspeed": [15.0] * n},
               "powertrain": {"rearMotor": {"outputTorque1": [100.0] * n, "outputAV1": [400.0] * n}}}
    path = tmp_path / "columns.json"
    path.write_text(json.dumps(columns))
    with pytest.raises(TelemetryError) as info:
        LogReplayUnit(str(path))
    message = str(info.value)
    assert "time is [0, 1, 2" in message and f"({n} items, " in message
    assert len(message) < 400

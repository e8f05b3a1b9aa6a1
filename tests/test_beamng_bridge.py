"""The BeamNG.tech bridge, driving the real, unmodified beamngpy client against a loopback server.

``tests/beamng_server.py`` speaks the wire protocol (length-prefixed msgpack over TCP) and plays a car;
its own record of every powertrain reading and every Step message is the independent truth here.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys

import numpy as np
import pytest

beamngpy = pytest.importorskip("beamngpy")

from beamng_server import FakeBeamNG  # noqa: E402

from bridges import drive_cycles  # noqa: E402
from bridges.beamng import BeamNGUnit  # noqa: E402
from bridges.errors import BridgeError  # noqa: E402
from bridges.ev_model import aux_power  # noqa: E402
from bridges.powertrain import MotorLossModel  # noqa: E402
from cosim.errors import EvtwinError, EvtwinWarning, ScenarioError, SimulationError  # noqa: E402


@pytest.fixture
def server():
    srv = FakeBeamNG()
    srv.port = srv.start()
    yield srv
    srv.stop()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def drive(unit: BeamNGUnit, steps: int, h: float = 1.0, inputs: dict | None = None) -> list[dict]:
    names = sorted(inputs or {})
    unit.bind(names, [])
    unit.setup(0.0)
    unit.set_inputs([inputs[n] for n in names])
    rows = []
    try:
        for k in range(steps):
            unit.do_step(k * h, h)
            rows.append(
                {
                    p: getattr(unit, p)
                    for p in (
                        "P_battery",
                        "speed",
                        "distance",
                        "P_regen",
                        "P_aux",
                        "motor_torque",
                        "sim_time",
                        "regen_events",
                        "regen_throttle",
                        "P_unmet",
                    )
                }
            )
    finally:
        unit.terminate()
    return rows


def test_installed_client_is_the_pinned_real_one():
    from beamngpy.connection import Connection

    assert beamngpy.__version__.strip() == "1.36"
    assert Connection.PROTOCOL_VERSION == "v1.27"


def test_importing_the_bridge_does_not_import_beamngpy():
    code = "import sys, bridges.beamng, bridges.replay; print('beamngpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lockstep_one_simulator_second_per_cosimulation_second(server):
    unit = BeamNGUnit(port=server.port, driver="ai", speed_limit_kph=80)
    rows = drive(unit, 20)
    assert server.deterministic and server.paused
    assert server.step_counts == [60] * 20  # one Step message of 60 frames per 1 s master step
    assert [r["sim_time"] for r in rows] == pytest.approx([k + 1.0 for k in range(20)], abs=1e-9)
    assert rows[-1]["speed"] > 10  # the AI drove off


def test_battery_energy_is_the_integral_of_the_motor_readings(server):
    unit = BeamNGUnit(port=server.port, driver="ai", speed_limit_kph=90, aggression=0.6)
    rows = drive(unit, 60)
    # independent: the server's own record of torque and speed, through the same loss model
    history = next(iter(server.vehicles.values())).history
    m = unit.params.motor
    model = MotorLossModel.scaled(m.peak_power, m.max_speed, m.max_speed / m.base_speed)
    # from the car standing at spawn (t = 0: no torque, no speed), then every reading
    t = np.array([0.0] + [r["time"] for r in history])
    p = np.array(
        [model.electrical_power(0.0, 0.0)]
        + [
            model.electrical_power(r["rearMotor"]["outputTorque1"], r["rearMotor"]["outputAV1"])
            for r in history
        ]
    )
    motor_energy = float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))
    aux = aux_power(unit.params, 296.15, True) * 60
    assert sum(r["P_battery"] for r in rows) == pytest.approx(motor_energy + aux, rel=1e-9)
    # distance: the server's own odometer
    car = next(iter(server.vehicles.values()))
    assert rows[-1]["distance"] == pytest.approx(car.x, rel=2e-3)


def test_regen_events_are_detected(server):
    unit = BeamNGUnit(port=server.port, driver="ai", speed_limit_kph=100)
    rows = drive(unit, 90)
    assert rows[-1]["regen_events"] >= 2  # the route's bends make the AI brake
    regen_steps = [r for r in rows if r["P_regen"] > 0]
    assert regen_steps and all(r["P_battery"] < r["P_aux"] for r in regen_steps if r["P_regen"] > 5000)
    assert max(r["regen_throttle"] for r in rows) > 0


def test_regen_is_limited_to_the_battery_charge_limit(server):
    unit = BeamNGUnit(port=server.port, driver="ai", speed_limit_kph=100)
    rows = drive(unit, 90, inputs={"P_charge_max": 2000.0})
    assert min(r["P_battery"] for r in rows) >= -2000.0 - 1e-6
    assert min(r["P_battery"] for r in rows) < -1000.0  # it does regenerate, up to the limit


def test_scripted_speed_trace_is_followed(server):
    unit = BeamNGUnit(port=server.port, driver="trace", cycle="udds", control_interval=0.1)
    rows = drive(unit, 120)
    cycle = drive_cycles.load_cycle("udds")
    error = np.array([r["speed"] for r in rows]) - cycle.speed[1:121]
    assert math.sqrt(np.mean(error**2)) < 0.5
    expected = 0.5 * np.sum(cycle.speed[1:121] + cycle.speed[:120])
    assert rows[-1]["distance"] == pytest.approx(expected, rel=0.02)
    assert sum(server.step_counts) == 120 * 60  # ten 6-frame Steps per second: still lockstep


def test_powertrain_readings_sent_as_a_list_work_too():
    srv = FakeBeamNG(readings_as_list=True)
    port = srv.start()
    try:
        rows = drive(BeamNGUnit(port=port, driver="ai"), 10)
        assert rows[-1]["P_battery"] > 0
    finally:
        srv.stop()


def test_telemetry_log_records_electrics_and_powertrain(server, tmp_path):
    path = tmp_path / "run.jsonl"
    drive(BeamNGUnit(port=server.port, driver="ai", log_path=str(path)), 5)
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    powertrain = [s for s in samples if "powertrain" in s]
    electrics = [s for s in samples if "electrics" in s]
    assert len(powertrain) == len(next(iter(server.vehicles.values())).history)
    assert len(electrics) == 6  # setup + 5 steps
    assert "outputTorque1" in powertrain[10]["powertrain"]["rearMotor"]


def test_connection_refused_is_a_clear_error():
    unit = BeamNGUnit(port=free_port())
    unit.name = "car"
    with pytest.raises(
        BridgeError,
        match=r"BeamNG.tech 'open' for vehicle 'ego' failed: .*is BeamNG.tech running "
        r"with its socket open at localhost:\d+",
    ) as info:
        unit.setup(0.0)
    assert isinstance(info.value, EvtwinError) and info.value.__cause__ is not None
    unit.terminate()  # cleaning up after a failed open does not raise


def test_wrong_protocol_version_is_a_clear_error():
    srv = FakeBeamNG(protocol_version="v1.20")
    port = srv.start()
    try:
        unit = BeamNGUnit(port=port)
        with pytest.raises(
            BridgeError,
            match=r"'open' .*Mismatching BeamNGpy protocol versions.*v1\.20.*install the "
            r"beamngpy release made for your BeamNG.tech",
        ):
            unit.setup(0.0)
        unit.terminate()
    finally:
        srv.stop()


def test_server_dying_mid_run_stops_with_an_error_and_keeps_the_log(tmp_path):
    srv = FakeBeamNG(die_after_steps=5)
    port = srv.start()
    path = tmp_path / "run.jsonl"
    unit = BeamNGUnit(port=port, driver="ai", log_path=str(path))
    unit.name = "car"
    unit.bind([], [])
    unit.setup(0.0)
    for k in range(5):
        unit.do_step(float(k), 1.0)
    with pytest.raises(
        BridgeError,
        match=r"'step' for vehicle 'ego' failed: BNGDisconnectedError: The simulator ended the connection; "
        r"the simulator closed the connection \(crashed or quit\?\); the run stops here",
    ) as info:
        unit.do_step(5.0, 1.0)
    assert info.value.t == 5.0 and info.value.unit == "car"
    unit.terminate()  # does not raise on a dead simulator
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["time"] for s in samples if "electrics" in s] == pytest.approx([0, 1, 2, 3, 4, 5])
    srv.stop()


def test_lost_lockstep_is_detected():
    srv = FakeBeamNG(frame_factor=2)
    port = srv.start()
    try:
        unit = BeamNGUnit(port=port)
        unit.bind([], [])
        unit.setup(0.0)
        with pytest.raises(
            BridgeError, match=r"simulator is at t = 2.0000 s where lockstep expects 1.0000 s"
        ):
            unit.do_step(0.0, 1.0)
        unit.terminate()
    finally:
        srv.stop()


def test_step_that_is_not_whole_frames_is_refused(server):
    unit = BeamNGUnit(port=server.port)
    unit.bind([], [])
    unit.setup(0.0)
    with pytest.raises(SimulationError, match=r"not a whole number of simulator frames"):
        unit.do_step(0.0, 0.01)
    unit.terminate()


def test_explicit_motor_device_that_does_not_exist(server):
    unit = BeamNGUnit(port=server.port, motor_devices=["frontMotor"])
    unit.bind([], [])
    unit.setup(0.0)
    with pytest.raises(
        BridgeError, match=r"no powertrain device 'frontMotor' \(devices: rearDiff, rearMotor\)"
    ):
        unit.do_step(0.0, 1.0)
    unit.terminate()


def test_launch_from_a_missing_home_is_a_clear_error():
    unit = BeamNGUnit(port=free_port(), home="/nonexistent/BeamNG.tech")
    with pytest.raises(
        BridgeError, match=r"could not launch BeamNG.tech from home '/nonexistent/BeamNG.tech'"
    ):
        unit.setup(0.0)
    unit.terminate()


def test_bad_settings_are_scenario_errors():
    with pytest.raises(ScenarioError, match=r"driver must be 'ai' or 'trace' \(got 'robot'\)"):
        BeamNGUnit(driver="robot")
    with pytest.raises(ScenarioError, match=r"no EV preset for BeamNG model 'pickup'; set `preset`"):
        BeamNGUnit(vehicle_model="pickup")
    with pytest.raises(
        ScenarioError, match=r"control_interval 0.015 s must be a whole number of simulator frames"
    ):
        BeamNGUnit(driver="trace", control_interval=0.015)
    assert BeamNGUnit(vehicle_model="sv1ev3").preset.id == "ev3"


def test_bridge_ports_and_outputs_meet_the_vehicle_contract(server):
    from bridges.vehicle_contract import output_problems, port_problems

    unit = BeamNGUnit(port=server.port, driver="ai")
    assert port_problems(unit) == []
    unit.bind([], [])
    unit.setup(0.0)
    try:
        assert output_problems(unit) == []
        for k in range(30):
            unit.do_step(float(k), 1.0)
            assert output_problems(unit) == []
    finally:
        unit.terminate()


def test_trace_driver_runs_on_a_simulator_that_refuses_ai_requests():
    srv = FakeBeamNG(refuse=("SetAiMode",))
    port = srv.start()
    try:
        unit = BeamNGUnit(port=port, driver="trace", cycle="udds", control_interval=0.1)
        with pytest.warns(EvtwinWarning, match="refused 'ai_mode'") as caught:
            rows = drive(unit, 30, inputs={"drive": 1.0})
    finally:
        srv.stop()
    assert len([w for w in caught if issubclass(w.category, EvtwinWarning)]) == 1
    cycle = drive_cycles.load_cycle("udds")
    error = np.array([r["speed"] for r in rows]) - cycle.speed[1:31]
    assert math.sqrt(np.mean(error**2)) < 0.5  # it drove the trace all the same


def test_the_first_step_counts_the_motor_energy_from_the_start(server):
    unit = BeamNGUnit(port=server.port, driver="ai", speed_limit_kph=90, aggression=0.6)
    rows = drive(unit, 1)
    history = next(iter(server.vehicles.values())).history
    m = unit.params.motor
    model = MotorLossModel.scaled(m.peak_power, m.max_speed, m.max_speed / m.base_speed)
    # independent: the server's readings, from the car standing at t = 0 (no torque, no speed)
    t = np.array([0.0] + [r["time"] for r in history])
    p = np.array([model.electrical_power(0.0, 0.0)] + [
        model.electrical_power(r["rearMotor"]["outputTorque1"], r["rearMotor"]["outputAV1"]) for r in history
    ])
    assert t[1] > 0.0 and t[-1] == pytest.approx(1.0)
    energy = float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))
    aux = aux_power(unit.params, 296.15, True)
    assert rows[0]["P_battery"] == pytest.approx(energy + aux, rel=1e-9)


def server_motor_energy(server, unit) -> float:
    """The motors' electrical energy from the server's own readings, from the car standing at t = 0 [J]."""
    history = next(iter(server.vehicles.values())).history
    m = unit.params.motor
    model = MotorLossModel.scaled(m.peak_power, m.max_speed, m.max_speed / m.base_speed)
    t = np.array([0.0] + [r["time"] for r in history])
    p = np.array([model.electrical_power(0.0, 0.0)] + [
        model.electrical_power(r["rearMotor"]["outputTorque1"], r["rearMotor"]["outputAV1"]) for r in history
    ])
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))


def test_trace_driver_holds_the_motor_within_the_battery_limit(server):
    limit = 12e3
    unit = BeamNGUnit(port=server.port, driver="trace", cycle="us06", control_interval=0.1)
    names = ["P_discharge_max"]
    unit.bind(names, [])
    unit.setup(0.0)
    unit.set_inputs([limit])
    drawn = unmet = 0.0
    try:
        for k in range(90):
            unit.do_step(float(k), 1.0)
            assert unit.P_battery <= limit * (1 + 1e-9)
            drawn += unit.P_battery
            unmet += unit.P_unmet
    finally:
        unit.terminate()
    aux = aux_power(unit.params, 296.15, True) * 90
    # nothing lost: what was drawn plus what went unmet is what the motors took
    assert drawn + unmet == pytest.approx(server_motor_energy(server, unit) + aux, rel=1e-9)
    # the throttle cap holds the motor: little goes unmet, against the seconds of full power US06 asks
    assert 0.0 < unmet < 0.1 * drawn
    history = next(iter(server.vehicles.values())).history
    late = [r for r in history if r["time"] > 60.0]
    power = [r["rearMotor"]["outputTorque1"] * r["rearMotor"]["outputAV1"] for r in late]
    assert max(power) < 1.5 * limit


@pytest.mark.parametrize("refuse", [(), ("QueueLuaCommandVE",)])
def test_ai_driver_sends_the_limit_as_lua_or_warns_once_and_goes_on(refuse):
    srv = FakeBeamNG(refuse=refuse)
    port = srv.start()
    unit = BeamNGUnit(port=port, driver="ai", speed_limit_kph=90, aggression=0.6,
                      limit_lua="evtwin_limit({fraction:.3f})")
    try:
        with pytest.warns(EvtwinWarning) if refuse else _no_warning() as caught:
            rows = drive(unit, 20, inputs={"P_discharge_max": 15e3})
    finally:
        srv.stop()
    assert len(rows) == 20 and rows[-1]["speed"] > 5.0  # the run went on
    if refuse:
        assert len([w for w in caught if "limit_lua" in str(w.message)]) == 1
        assert sum(r["P_unmet"] for r in rows) > 0.0  # the simulator was not held: the twin says so
    else:
        fraction = (15e3 - aux_power(unit.params, 296.15, True)) / unit.params.motor.peak_power
        assert srv.lua_chunks == [f"evtwin_limit({fraction:.3f})"]


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", EvtwinWarning)
        return []

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

"""BeamNG.tech bridge (unit type ``beamng``): a vehicle in BeamNG.tech, stepped in lockstep with the master.

Two layers, as the FMU adapter: :class:`BeamNGClient` wraps the real beamngpy client (imported lazily,
on first use) and sends every call through one :meth:`BeamNGClient._call`, which logs and times it and
turns any failure into a :class:`~bridges.errors.BridgeError` naming the operation and the vehicle;
:class:`BeamNGUnit` is the co-simulation unit on top.

Lockstep: the simulator runs deterministic (``settings.set_deterministic(steps_per_second)``) and paused;
a master step of ``h`` seconds sends ``Step`` messages totalling ``h x steps_per_second`` frames, so a
co-simulation second is a simulator second. When the State sensor reports the simulator time, the bridge
checks it after every step and stops with an error if the two clocks part.

Power: every master step polls Electrics and the PowertrainSensor. Each powertrain reading (about every
10 ms of simulator time) gives every motor device's ``outputTorque1`` and ``outputAV1``; the electrical
power is their product plus the motor/inverter losses of :mod:`bridges.powertrain` (the model of the
vehicle's preset, split evenly over its motors), integrated over the readings of the step. Auxiliary and
HVAC loads come from the preset and ``T_ambient``, as in the built-in EV. BeamNG does not know the
battery's charge limit: regen beyond ``P_charge_max`` is counted as friction braking.

Driving: ``driver: ai`` lets BeamNG's AI drive (``ai_mode`` such as ``span``, ``speed_limit_kph``,
``aggression``); ``driver: trace`` follows a speed trace (a cycle name, mix or CSV, as the ``ev`` unit)
with a feed-forward + PI controller on throttle and brake, updated every ``control_interval`` seconds.
``drive`` = 0 disables the AI / releases the trace and holds the brake.

The raw telemetry goes into the unit's outputs (recorded in the results file) and, with ``log_path``,
into a JSON Lines log that the ``log_replay`` unit replays.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bridges import drive_cycles
from bridges.errors import BridgeError
from bridges.ev_model import VehicleParams, aux_power, road_load
from bridges.powertrain import MotorLossModel
from bridges.presets import get_preset
from bridges.telemetry import (
    ELECTRICS_KEYS,
    SampleError,
    TelemetryLog,
    device_power,
    motor_names,
    split_sample,
)
from cosim.errors import ScenarioError, SimulationError
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

log = logging.getLogger("evtwin.bridges.beamng")

DEFAULT_PORT = 25252
#: Electrical power below which a motor counts as regenerating, for regen-event detection [W].
REGEN_EVENT_THRESHOLD = -500.0


def _is_disconnect(err: BaseException) -> bool:
    """Whether ``err`` means the simulator's socket is gone (not a refused request)."""
    return isinstance(err, (OSError, EOFError)) or type(err).__name__ == "BNGDisconnectedError"


def _describe(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text}"


class BeamNGClient:
    """The raw layer over beamngpy; every simulator call goes through :meth:`_call`.

    Parameters
    ----------
    host, port : str, int
        Where BeamNG.tech listens.
    home : str, optional
        BeamNG.tech folder; when given, the simulator is launched (and quit at the end).
    user : str, optional
        BeamNG user folder, when launching.
    vehicle_id : str
        Name of the vehicle in the scenario.
    socket_timeout : float
        Seconds to wait for an answer before giving up [s].
    """

    def __init__(
        self,
        host: str,
        port: int,
        home: str | None,
        user: str | None,
        vehicle_id: str,
        socket_timeout: float | None,
    ):
        self.host, self.port, self.home, self.user = host, port, home, user
        self.vehicle_id = vehicle_id
        self.socket_timeout = socket_timeout
        self.bng = None
        self.vehicle = None
        self.powertrain = None
        self.timings: dict[str, list[float]] = {}
        self.unit_name: str | None = None
        self.t: float | None = None
        self.steps_sent = 0
        self.lost = False  # the connection died: close without talking to the simulator

    # -- the choke point ----------------------------------------------------------------------------
    def _call(self, operation: str, fn, *args, **kwargs):
        """Call ``fn`` for ``operation``: logged, timed, and any failure re-raised as :class:`BridgeError`."""
        log.debug("beamng %s vehicle=%s t=%s", operation, self.vehicle_id, self.t)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except BridgeError:
            raise
        except Exception as err:  # every client failure becomes one domain error, chained to its cause
            log.debug("beamng %s failed: %s", operation, _describe(err))
            if _is_disconnect(err):
                self.lost = True
            raise BridgeError(
                operation, self.vehicle_id, _describe(err), self._hint(operation, err), self.unit_name, self.t
            ) from err
        finally:
            rec = self.timings.setdefault(operation, [0, 0.0])
            rec[0] += 1
            rec[1] += time.perf_counter() - start

    def _hint(self, operation: str, err: BaseException) -> str:
        text = str(err)
        if "Mismatching BeamNGpy protocol" in text:
            return (
                "the simulator speaks another protocol than the installed beamngpy; install the beamngpy "
                "release made for your BeamNG.tech version (this project pins beamngpy 1.36)"
            )
        if operation == "open" and self.home:
            return (
                f"could not launch BeamNG.tech from home {self.home!r}: check that the folder holds the "
                "BeamNG.tech binary, or start the simulator yourself and leave `home` unset"
            )
        if operation == "open":
            return (
                f"is BeamNG.tech running with its socket open at {self.host}:{self.port}? Start it with "
                f"`-tcom -tport {self.port}`, check `host`/`port`, or set `home` so evtwin launches it"
            )
        if isinstance(err, TimeoutError):
            return (
                f"no answer within {self.socket_timeout} s; raise `socket_timeout` if the simulator is slow"
            )
        if _is_disconnect(err):
            return (
                "the simulator closed the connection (crashed or quit?); the run stops here and what was "
                "recorded up to this step is kept"
            )
        return ""

    # -- operations ---------------------------------------------------------------------------------
    def open(self) -> None:
        """Attach to the running simulator, or launch it when ``home`` is set."""
        try:
            from beamngpy import BeamNGpy
        except ImportError as err:
            raise BridgeError(
                "import",
                self.vehicle_id,
                _describe(err),
                "install the BeamNG extra: pip install 'evtwin[beamng]'",
                self.unit_name,
            ) from err
        self.bng = BeamNGpy(
            self.host,
            self.port,
            home=self.home,
            user=self.user,
            quit_on_close=bool(self.home),
            socket_timeout=self.socket_timeout,
        )
        self._call("open", self.bng.open, launch=bool(self.home))

    def spawn(
        self,
        level: str,
        scenario_name: str,
        model: str,
        part_config: str | None,
        position: Sequence[float],
        rotation: Sequence[float],
        steps_per_second: int,
    ) -> None:
        """Make and load a scenario on ``level`` with the vehicle, deterministic and paused."""
        from beamngpy import Scenario, Vehicle
        from beamngpy.sensors import Electrics, PowertrainSensor

        bng = self.bng
        scenario = Scenario(level, scenario_name, description="evtwin co-simulation")
        options = {"part_config": part_config} if part_config else {}
        vehicle = Vehicle(self.vehicle_id, model=model, license="EVTWIN", **options)
        vehicle.sensors.attach("electrics", Electrics())
        scenario.add_vehicle(vehicle, pos=tuple(position), rot_quat=tuple(rotation))
        self._call("make_scenario", scenario.make, bng)
        self._call("set_deterministic", bng.settings.set_deterministic, steps_per_second)
        self._call("load_scenario", bng.scenario.load, scenario)
        self.vehicle = vehicle
        self._call("start_scenario", bng.scenario.start)
        self._call("pause", bng.control.pause)
        self.powertrain = self._call(
            "open_powertrain", PowertrainSensor, "evtwin_powertrain", bng, vehicle, physics_update_time=0.01
        )

    def step(self, frames: int) -> None:
        """Advance the simulator by ``frames`` frames and wait until it has."""
        self._call("step", self.bng.control.step, frames)
        self.steps_sent += frames

    def poll(self) -> tuple[dict, dict]:
        """(state, electrics) of the vehicle now."""
        self._call("poll", self.vehicle.sensors.poll)
        sensors = self.vehicle.sensors
        return dict(sensors["state"]), dict(sensors["electrics"])

    def poll_powertrain(self) -> list[dict]:
        """The powertrain readings taken since the last poll, oldest first."""
        data = self._call("poll_powertrain", self.powertrain.poll)
        if isinstance(data, Mapping):
            try:
                keys = sorted(data, key=lambda k: float(k))
            except (TypeError, ValueError):
                keys = list(data)
            return [data[k] for k in keys]
        return list(data or [])

    def control(self, throttle: float, brake: float) -> None:
        self._call("control", self.vehicle.control, throttle=throttle, brake=brake)

    def ai(self, mode: str, speed: float | None = None, aggression: float | None = None) -> None:
        """Set BeamNG's AI: ``mode`` (``span``, ``disabled``, ...), ``speed`` limit [m/s], ``aggression``."""
        self._call("ai_mode", self.vehicle.ai.set_mode, mode)
        if speed is not None:
            self._call("ai_speed", self.vehicle.ai.set_speed, speed, "limit")
        if aggression is not None:
            self._call("ai_aggression", self.vehicle.ai.set_aggression, aggression)

    def close(self) -> None:
        """Remove the sensor and disconnect (quit the simulator if evtwin launched it); never raises."""
        if self.bng is None:
            return
        if self.powertrain is not None and not self.lost:
            try:
                self._call("close_powertrain", self.powertrain.remove)
            except BridgeError as err:
                log.info("%s", err)
        self.powertrain = None
        closing = self.bng.close if self.home else self.bng.disconnect  # close() also ends a launched process
        try:
            self._call("close", closing)
        except BridgeError as err:
            log.info("%s", err)
        self.bng = None


_OUTPUTS = (
    Port(
        "P_battery",
        OUTPUT,
        "W",
        "Mean power drawn at the battery terminals over the last step (negative while regenerating)",
    ),
    Port("speed", OUTPUT, "m/s", "Wheel speed at the end of the step", min=0.0),
    Port("distance", OUTPUT, "m", "Distance driven (integral of wheel speed)", min=0.0),
    Port("motor_torque", OUTPUT, "N.m", "Mean summed torque of the motor devices over the last step"),
    Port("motor_speed", OUTPUT, "rad/s", "Speed of the fastest motor device at the end of the step"),
    Port("P_regen", OUTPUT, "W", "Mean electrical power returned by the motors over the last step", min=0.0),
    Port("P_aux", OUTPUT, "W", "Mean auxiliary and HVAC draw over the last step", min=0.0),
    Port("P_loss", OUTPUT, "W", "Mean motor and inverter losses over the last step"),
    Port("regen_events", OUTPUT, "1", "Number of regenerative braking events so far", min=0.0),
    Port("sim_time", OUTPUT, "s", "Simulator time (the co-simulation time when the simulator reports none)"),
    Port("throttle", OUTPUT, "1", "Electrics throttle at the end of the step"),
    Port("brake", OUTPUT, "1", "Electrics brake at the end of the step"),
    Port("regen_throttle", OUTPUT, "1", "Electrics regenThrottle at the end of the step"),
)


class BeamNGUnit(PythonUnit):
    """A BeamNG.tech vehicle as a co-simulation unit.

    Parameters
    ----------
    host : str
        Simulator host.
    port : int
        Simulator port.
    home : str, optional
        BeamNG.tech folder: launch the simulator from there; unset = attach to a running one.
    user : str, optional
        BeamNG user folder when launching.
    level : str
        Level (map) to load.
    vehicle_model : str
        BeamNG vehicle model (``Model3_2024``, ``sv1ev3``, ...).
    part_config : str, optional
        Vehicle configuration (``.pc`` path in the BeamNG file system).
    vehicle_id : str
        Name of the spawned vehicle.
    position, rotation : sequence of float
        Spawn position (x, y, z) [m] and rotation quaternion (x, y, z, w).
    driver : str
        ``ai`` or ``trace``.
    ai_mode : str
        BeamNG AI mode when ``driver`` is ``ai``.
    speed_limit_kph : float
        AI speed limit [km/h].
    aggression : float
        AI aggression, 0-1.
    cycle : str
        Speed trace when ``driver`` is ``trace`` (cycle name, or the first cycle of a mix, or a CSV path).
    cycle_file : str, optional
        A CSV speed trace instead of ``cycle``; in a scenario, relative to the scenario file.
    control_interval : float
        Controller update interval in ``trace`` mode [s].
    steps_per_second : int
        Simulator frames per simulated second.
    preset : str, optional
        EV preset whose loss model and auxiliary loads apply; by default the preset of ``vehicle_model``.
    motor_devices : sequence of str, optional
        Powertrain devices that are traction motors; by default every device named ``*motor*``.
    socket_timeout : float
        Seconds to wait for the simulator [s].
    log_path : str, optional
        JSON Lines telemetry log to write.
    """

    can_save_state = False
    #: Settings that are file paths: the engine resolves them against the scenario file.
    path_settings = ("cycle_file",)

    def __init__(
        self,
        host: str = "localhost",
        port: int = DEFAULT_PORT,
        home: str | None = None,
        user: str | None = None,
        level: str = "west_coast_usa",
        vehicle_model: str = "Model3_2024",
        part_config: str | None = None,
        vehicle_id: str = "ego",
        position: Sequence[float] = (-717.121, 101.0, 118.675),
        rotation: Sequence[float] = (0.0, 0.0, 0.3826834, 0.9238795),
        driver: str = "ai",
        ai_mode: str = "span",
        speed_limit_kph: float = 100.0,
        aggression: float = 0.3,
        cycle: str = "udds",
        cycle_file: str | None = None,
        control_interval: float = 0.1,
        steps_per_second: int = 60,
        preset: str | None = None,
        motor_devices: Sequence[str] | None = None,
        socket_timeout: float | None = 60.0,
        log_path: str | None = None,
        scenario_name: str = "evtwin",
    ):
        problems = []
        if driver not in ("ai", "trace"):
            problems.append(f"driver must be 'ai' or 'trace' (got {driver!r})")
        if not isinstance(steps_per_second, int) or steps_per_second <= 0:
            problems.append(f"steps_per_second must be a positive integer (got {steps_per_second!r})")
        elif not _is_whole(control_interval * steps_per_second):
            problems.append(
                f"control_interval {control_interval!r} s must be a whole number of simulator frames "
                f"at steps_per_second={steps_per_second}"
            )
        if not 0.0 <= aggression <= 1.0:
            problems.append(f"aggression must be between 0 and 1 (got {aggression!r})")
        if len(tuple(position)) != 3 or len(tuple(rotation)) != 4:
            problems.append("position needs 3 numbers (x, y, z) and rotation 4 (quaternion x, y, z, w)")
        if problems:
            raise ScenarioError(problems)
        try:
            self.preset = get_preset(preset or vehicle_model)
        except ScenarioError:
            if preset:
                raise
            raise ScenarioError(
                f"no EV preset for BeamNG model {vehicle_model!r}; set `preset` to the closest "
                "car (`evtwin vehicles` lists them)"
            ) from None
        self.params = VehicleParams.from_preset(self.preset)
        self.settings = dict(
            level=level,
            vehicle_model=vehicle_model,
            part_config=part_config,
            position=tuple(position),
            rotation=tuple(rotation),
            scenario_name=scenario_name,
        )
        self.driver, self.ai_mode = driver, ai_mode
        self.speed_limit = speed_limit_kph / 3.6
        self.aggression = aggression
        if driver != "trace":
            self.cycle = None
        elif cycle_file is not None:
            self.cycle = drive_cycles.read_csv_cycle(cycle_file)
        else:
            self.cycle = drive_cycles.resolve(cycle)[0]
        self.control_interval = control_interval
        self.sps = steps_per_second
        self.motor_devices = list(motor_devices) if motor_devices else None
        self.log_path = log_path
        self.client = BeamNGClient(host, port, home, user, vehicle_id, socket_timeout)
        self._ports = (
            Port(
                "P_charge_max",
                INPUT,
                "W",
                "Charge power the battery accepts now; regen beyond it counts as friction braking",
                start=self.params.regen_max,
                min=0.0,
            ),
            Port("drive", INPUT, "1", "1 while the vehicle drives, 0 parked (AI off, brake held)", start=1.0),
            Port("T_ambient", INPUT, "K", "Ambient temperature (auxiliary and HVAC load)", start=296.15),
        ) + _OUTPUTS
        super().__init__()
        self._log: TelemetryLog | None = None
        self._motor_model: MotorLossModel | None = None

    def ports(self):
        return self._ports

    def metadata(self) -> dict[str, str]:
        timings = {
            op: f"{n} calls, {1e3 * s / max(n, 1):.3f} ms each" for op, (n, s) in self.client.timings.items()
        }
        return {
            "type": "beamng",
            "host": f"{self.client.host}:{self.client.port}",
            "preset": self.preset.id,
            "vehicle_model": self.settings["vehicle_model"],
            "level": self.settings["level"],
            "driver": self.driver,
            "steps_per_second": str(self.sps),
            "frames_sent": str(self.client.steps_sent),
            "call_timings": "; ".join(f"{k}: {v}" for k, v in timings.items()),
        }

    # -- life cycle ---------------------------------------------------------------------------------
    def setup(self, start_time: float) -> None:
        c = self.client
        c.unit_name = self.name or None
        c.t = start_time
        self._start_time = start_time
        c.open()
        s = self.settings
        c.spawn(
            s["level"],
            s["scenario_name"],
            s["vehicle_model"],
            s["part_config"],
            s["position"],
            s["rotation"],
            self.sps,
        )
        if self.log_path:
            self._log = TelemetryLog(self.log_path)
        self.distance = 0.0
        self.regen_events = 0.0
        self.P_battery = self.P_regen = self.P_loss = self.motor_torque = self.motor_speed = 0.0
        self._driving = False
        self._integral = 0.0
        self._trip_start = start_time
        state, electrics = c.poll()
        self._sim_t0 = _sim_time(state)
        self._speed_now = self._speed(state, electrics)
        self._last_point = None  # (time, battery-limited motor power, loss, torque) of the last reading
        self._regen_on = False
        self._record(electrics, state, start_time)
        self._drain_readings()  # readings taken while loading belong to no step
        self.speed = self._speed_now
        self.P_aux = aux_power(self.params, self.T_ambient, self.drive >= 0.5)

    def terminate(self) -> None:
        if self._log is not None:
            self._log.close()
        self.client.close()

    # -- stepping -----------------------------------------------------------------------------------
    def do_step(self, t: float, h: float) -> None:
        c = self.client
        c.t = t
        frames = h * self.sps
        if not _is_whole(frames) or frames < 0.5:
            raise SimulationError(
                f"step of {h!r} s is not a whole number of simulator frames at "
                f"steps_per_second={self.sps}; use a step that is a multiple of {1 / self.sps:g} s",
                self.name or "beamng",
                t,
            )
        driving = self.drive >= 0.5
        if driving != self._driving:
            self._switch_driving(driving, t)
        v0 = self._speed_now
        distance = self.distance
        if driving and self.driver == "trace":
            state, electrics, distance = self._follow_trace(t, h, distance)
        else:
            c.step(int(round(frames)))
            state, electrics = c.poll()
            self._speed_now = self._speed(state, electrics)
            distance += 0.5 * (v0 + self._speed_now) * h
        self._check_lockstep(state, t + h)
        self.distance = distance
        self._account_power(t, h, driving)
        self._record(electrics, state, t + h)
        if self._log is not None:
            self._log.flush()

    def _switch_driving(self, driving: bool, t: float) -> None:
        c = self.client
        self._driving = driving
        if driving:
            self._trip_start = t
            self._integral = 0.0
            if self.driver == "ai":
                c.ai(self.ai_mode, self.speed_limit, self.aggression)
            else:
                c.ai("disabled")
        else:
            c.ai("disabled")
            c.control(throttle=0.0, brake=1.0)

    def _follow_trace(self, t: float, h: float, distance: float) -> tuple[dict, dict, float]:
        c = self.client
        n = int(round(h / self.control_interval))
        n = max(n, 1)
        dt = h / n
        frames = int(round(dt * self.sps))
        state = electrics = {}
        for i in range(n):
            t_next = t + (i + 1) * dt
            throttle, brake = self._controller(self._speed_now, t_next - self._trip_start, dt)
            c.control(throttle=throttle, brake=brake)
            v0 = self._speed_now
            c.step(frames)
            state, electrics = c.poll()
            self._speed_now = self._speed(state, electrics)
            distance += 0.5 * (v0 + self._speed_now) * dt
        return state, electrics, distance

    def _controller(self, v: float, trip_time: float, dt: float) -> tuple[float, float]:
        """Throttle and brake (0-1) to reach the trace speed at ``trip_time``: feed-forward force + PI."""
        target = _trace_speed(self.cycle, trip_time)
        p = self.params
        tau = max(dt, 0.5)  # reach the target over half a second at most
        error = target - v
        self._integral = max(-5.0, min(5.0, self._integral + error * dt))
        force = p.inertial_mass * (error / tau + 0.3 * self._integral) + (
            road_load(p, v) if v > 0.05 else 0.0
        )
        omega = v * p.gear_ratio / p.wheel_radius
        max_drive = p.motor.torque_limit(omega) * p.gear_ratio / p.wheel_radius
        if force >= 0:
            return min(1.0, force / max_drive), 0.0
        return 0.0, min(1.0, -force / (p.mass * 9.80665))

    def _speed(self, state: Mapping, electrics: Mapping) -> float:
        for key in ("wheelspeed", "airspeed"):
            value = electrics.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                return abs(float(value))
        vel = state.get("vel")
        if isinstance(vel, Sequence) and len(vel) >= 3:
            return math.sqrt(sum(float(x) ** 2 for x in vel[:3]))
        raise BridgeError(
            "poll",
            self.client.vehicle_id,
            "no speed in the telemetry (no electrics wheelspeed/airspeed and no state vel)",
            "check that the vehicle spawned",
            self.name or None,
            self.client.t,
        )

    def _check_lockstep(self, state: Mapping, t_end: float) -> None:
        sim_t = _sim_time(state)
        if math.isnan(sim_t) or math.isnan(self._sim_t0):
            return
        expected = self._sim_t0 + (t_end - self._start_time)
        if abs(sim_t - expected) > 0.5 / self.sps:
            raise BridgeError(
                "step",
                self.client.vehicle_id,
                f"the simulator is at t = {sim_t:.4f} s where lockstep expects {expected:.4f} s",
                "something else is stepping or unpausing the simulation; run one client per "
                "simulator and keep it paused",
                self.name or None,
                t_end,
            )

    def _drain_readings(self) -> list[dict]:
        return self.client.poll_powertrain()

    def _motor(self, devices: Mapping) -> tuple[list[str], MotorLossModel]:
        if self._motor_model is None:
            try:
                names = motor_names(devices, self.motor_devices)
            except SampleError as err:
                raise BridgeError(
                    "poll_powertrain", self.client.vehicle_id, str(err), "", self.name or None, self.client.t
                ) from None
            m = self.params.motor
            share = 1.0 / len(names)
            self._motors = names
            self._motor_model = MotorLossModel.scaled(
                m.peak_power * share, m.max_speed, m.max_speed / m.base_speed
            )
        return self._motors, self._motor_model

    def _account_power(self, t: float, h: float, driving: bool) -> None:
        """Integrate the powertrain readings of the step into the mean power outputs.

        The readings (about every 10 ms) are joined by straight lines (trapezoidal rule); a step accounts
        for the span from the last reading of the step before to its own last reading, so no span is
        counted twice or left out and the energy of a run is the integral over all readings.
        """
        readings = self._drain_readings()
        p_aux = aux_power(self.params, self.T_ambient, driving)
        floor = -max(0.0, self.P_charge_max) - p_aux  # the battery takes no more than P_charge_max
        points = [self._last_point] if self._last_point is not None else []
        motor_av = self.motor_speed
        for reading in readings:
            try:
                rt, _, devices = split_sample(reading)
                motors, model = self._motor(devices)
                p_e, p_m, torque, motor_av = device_power(devices, motors, model)
            except SampleError as err:
                raise BridgeError(
                    "poll_powertrain",
                    self.client.vehicle_id,
                    f"bad powertrain reading: {err}",
                    "",
                    self.name or None,
                    t,
                ) from None
            points.append((rt, max(p_e, floor), p_e - p_m, torque))
            if self._log is not None:
                self._log.write({"time": rt, "powertrain": devices})
        e_motor = e_regen = e_loss = torque_time = 0.0
        for (ta, pa, la, qa), (tb, pb, lb, qb) in zip(points, points[1:], strict=False):
            dt = tb - ta
            e_motor += 0.5 * dt * (pa + pb)
            e_regen += 0.5 * dt * (max(0.0, -pa) + max(0.0, -pb))
            e_loss += 0.5 * dt * (la + lb)
            torque_time += 0.5 * dt * (qa + qb)
        for point in points[1:] if self._last_point is not None else points:
            regen = point[1] < REGEN_EVENT_THRESHOLD
            if regen and not self._regen_on:
                self.regen_events += 1
            self._regen_on = regen
        if points:
            self._last_point = points[-1]
        self.P_battery = e_motor / h + p_aux
        self.P_regen = e_regen / h
        self.P_loss = e_loss / h
        self.P_aux = p_aux
        self.motor_torque = torque_time / h
        self.motor_speed = motor_av
        self.speed = self._speed_now

    def _record(self, electrics: Mapping, state: Mapping, t: float) -> None:
        """Set the telemetry outputs (missing values read 0) and log the Electrics sample."""
        self.throttle = _num(electrics.get("throttle"))
        self.brake = _num(electrics.get("brake"))
        self.regen_throttle = _num(electrics.get("regenThrottle"))
        sim_t = _sim_time(state)
        self.sim_time = sim_t if not math.isnan(sim_t) else t
        if self._log is not None:
            sample = {
                "time": self.sim_time,
                "electrics": {k: electrics[k] for k in ELECTRICS_KEYS if k in electrics},
            }
            if "pos" in state:
                sample["state"] = {"pos": state.get("pos"), "vel": state.get("vel")}
            self._log.write(sample)


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 * max(1.0, abs(x))


def _num(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


def _sim_time(state: Mapping) -> float:
    value = state.get("time")
    return float(value) if isinstance(value, (int, float)) else math.nan


def _trace_speed(cycle: drive_cycles.DriveCycle, t: float) -> float:
    if t <= 0:
        return float(cycle.speed[0])
    if t >= cycle.duration:
        return float(cycle.speed[-1])
    k = int(t)
    x = t - k
    return float(cycle.speed[k] + (cycle.speed[k + 1] - cycle.speed[k]) * x)

"""BeamNG.tech bridge (unit type ``beamng``): a vehicle in BeamNG.tech, stepped in lockstep with the master.

Three parts, besides this unit: :mod:`bridges.beamng.client` wraps the real beamngpy client (imported
lazily, on first use) and turns any failure into a :class:`~bridges.errors.BridgeError` naming the
operation and the vehicle; :mod:`bridges.beamng.power` integrates the battery power from the powertrain
readings; :mod:`bridges.beamng.driver` follows a speed trace.

Lockstep: the simulator runs deterministic (``settings.set_deterministic(steps_per_second)``) and paused;
a master step of ``h`` seconds sends ``Step`` messages totalling ``h x steps_per_second`` frames, so a
co-simulation second is a simulator second. When the State sensor reports the simulator time, the bridge
checks it after every step and stops with an error if the two clocks part.

Power: every master step polls Electrics and the PowertrainSensor and integrates the powertrain readings
of the step (:mod:`bridges.beamng.power`). Auxiliary and HVAC loads come from the preset and
``T_ambient``, as in the built-in EV.

Driving: ``driver: ai`` lets BeamNG's AI drive (``ai_mode`` such as ``span``, ``speed_limit_kph``,
``aggression``); ``driver: trace`` follows a speed trace (a cycle name, mix or CSV, as the ``ev`` unit)
with a feed-forward + PI controller on throttle and brake, updated every ``control_interval`` seconds.
``drive`` = 0 disables the AI / releases the trace and holds the brake.

The raw telemetry goes into the unit's outputs (recorded in the results file) and, with ``log_path``,
into a JSON Lines log that the ``log_replay`` unit replays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from bridges import drive_cycles
from bridges.beamng.client import DEFAULT_PORT, BeamNGClient
from bridges.beamng.driver import TraceController
from bridges.beamng.limits import MotorLimiter
from bridges.beamng.ports import OUTPUTS, input_ports
from bridges.beamng.power import NoMotors, PowerIntegrator
from bridges.errors import BridgeError
from bridges.ev_model import VehicleParams, aux_power
from bridges.presets import get_preset
from bridges.telemetry import ELECTRICS_KEYS, SampleError, TelemetryLog
from cosim.errors import EvtwinWarning, ScenarioError, SimulationError
from cosim.unit import PythonUnit


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
    limit_lua : str, optional
        With ``driver: ai``: a vehicle Lua chunk that caps the motors, sent (``queue_lua_command``) when
        the battery's limit changes; ``{fraction}`` (of the preset's peak power, 0-1) and ``{power_W}``
        are filled in. Unset, the AI drives at full power and the excess is recorded as ``P_unmet``.
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
        limit_lua: str | None = None,
    ):
        problems = _settings_problems(
            driver, steps_per_second, control_interval, aggression, position, rotation
        )
        if problems:
            raise ScenarioError(problems)
        self.preset = _preset(preset, vehicle_model)
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
        self.power = PowerIntegrator(self.params, self.motor_devices)
        self.controller = TraceController(self.cycle, self.params) if self.cycle is not None else None
        self.log_path = log_path
        self.limiter = MotorLimiter(driver, limit_lua, self.params.motor.peak_power)
        self.client = BeamNGClient(host, port, home, user, vehicle_id, socket_timeout)
        self._ports = input_ports(self.params.regen_max) + OUTPUTS
        super().__init__()
        self._log: TelemetryLog | None = None
        self._refused: set[str] = set()  # optional requests the simulator refused (warned once each)

    def ports(self):
        return self._ports

    def shared_values(self) -> dict:
        """The preset's pack, for the units of a scenario that take it (battery, charger)."""
        return self.preset.pack()

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
        self.power.reset()
        self.regen_events = self.power.regen_events
        self.P_battery = self.P_regen = self.P_loss = self.motor_torque = self.motor_speed = 0.0
        self.P_unmet = 0.0
        self.limiter.reset()
        self._driving = False
        if self.controller is not None:
            self.controller.reset()
        self._trip_start = start_time
        state, electrics = c.poll()
        self._sim_t0 = _sim_time(state)
        self._speed_now = self._speed(state, electrics)
        self._record(electrics, state, start_time)
        loading = c.poll_powertrain()  # readings taken while loading: the last one anchors the first step
        if not math.isnan(self._sim_t0):
            self._anchor_power(loading)
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
            if self.controller is not None:
                self.controller.reset()
            if self.driver == "ai":
                c.ai(self.ai_mode, self.speed_limit, self.aggression)
            else:
                self._optional("ai_mode", c.ai, "disabled")
        else:
            self._optional("ai_mode", c.ai, "disabled")
            c.control(throttle=0.0, brake=1.0)

    def _optional(self, operation: str, fn, *args) -> bool:
        """Call a request the run can do without; a refusal gets one warning per operation, and False.

        A lost connection is not a refusal: it stops the run as any other call would.
        """
        try:
            fn(*args)
            return True
        except BridgeError as err:
            if self.client.lost:
                raise
            if operation not in self._refused:
                self._refused.add(operation)
                warnings.warn(
                    f"{self.name or 'beamng'}: the simulator refused {operation!r} ({err.cause}); "
                    "the run goes on without it",
                    EvtwinWarning,
                    stacklevel=2,
                )
            return False

    def _follow_trace(self, t: float, h: float, distance: float) -> tuple[dict, dict, float]:
        c = self.client
        n = int(round(h / self.control_interval))
        n = max(n, 1)
        dt = h / n
        frames = int(round(dt * self.sps))
        state = electrics = {}
        for i in range(n):
            t_next = t + (i + 1) * dt
            throttle, brake = self.controller.command(self._speed_now, t_next - self._trip_start, dt)
            c.control(throttle=min(throttle, self.limiter.throttle_cap), brake=brake)
            v0 = self._speed_now
            c.step(frames)
            state, electrics = c.poll()
            self._speed_now = self._speed(state, electrics)
            distance += 0.5 * (v0 + self._speed_now) * dt
        return state, electrics, distance

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

    def _anchor_power(self, loading: list) -> None:
        try:
            self.power.start(self._sim_t0, loading)
        except SampleError as err:
            raise BridgeError(
                "poll_powertrain", self.client.vehicle_id, f"bad powertrain reading: {err}", "",
                self.name or None, self.client.t,
            ) from None

    def _account_power(self, t: float, h: float, driving: bool) -> None:
        """The step's mean power outputs from the powertrain readings taken during it."""
        readings = self.client.poll_powertrain()
        p_aux = aux_power(self.params, self.T_ambient, driving)
        floor = -max(0.0, self.P_charge_max) - p_aux  # the battery takes no more than P_charge_max
        ceiling = self.P_discharge_max - p_aux  # nor gives more than P_discharge_max
        try:
            step = self.power.step(readings, h, floor, self.motor_speed, self._log, ceiling)
        except NoMotors as err:
            raise BridgeError(
                "poll_powertrain", self.client.vehicle_id, str(err), "", self.name or None, self.client.t
            ) from None
        except SampleError as err:
            raise BridgeError(
                "poll_powertrain",
                self.client.vehicle_id,
                f"bad powertrain reading: {err}",
                "",
                self.name or None,
                t,
            ) from None
        self.regen_events = self.power.regen_events
        self.P_battery = step.P_motor + p_aux
        self.P_regen = step.P_regen
        self.P_loss = step.P_loss
        self.P_aux = p_aux
        self.P_unmet = step.P_unmet
        self._limit_motor(step, ceiling)
        self.motor_torque = step.motor_torque
        self.motor_speed = step.motor_speed
        self.speed = self._speed_now

    def _limit_motor(self, step, ceiling: float) -> None:
        """Hold the motors within the battery's limit for the next step (:mod:`bridges.beamng.limits`)."""
        request = self.limiter.after_step(step, ceiling)
        if request is not None and "limit_lua" not in self._refused:
            if self._optional("limit_lua", self.client.lua, request):
                self.limiter.sent(request)
        elif self.limiter.unheld(step) and "limit_lua" not in self._refused:
            self._refused.add("limit_lua")
            warnings.warn(
                f"{self.name or 'beamng'}: the battery cannot deliver what BeamNG's AI asks of the motors "
                "and no `limit_lua` is set to hold them; the excess is recorded as P_unmet",
                EvtwinWarning,
                stacklevel=2,
            )

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


def _settings_problems(
    driver: str,
    steps_per_second: Any,
    control_interval: float,
    aggression: float,
    position: Sequence[float],
    rotation: Sequence[float],
) -> list[str]:
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
    return problems


def _preset(preset: str | None, vehicle_model: str):
    """The EV preset named, or else the one of the BeamNG model."""
    try:
        return get_preset(preset or vehicle_model)
    except ScenarioError:
        if preset:
            raise
        raise ScenarioError(
            f"no EV preset for BeamNG model {vehicle_model!r}; set `preset` to the closest "
            "car (`evtwin vehicles` lists them)"
        ) from None


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 * max(1.0, abs(x))


def _num(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


def _sim_time(state: Mapping) -> float:
    value = state.get("time")
    return float(value) if isinstance(value, (int, float)) else math.nan

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

This module holds the unit's settings, life cycle and stepping (lockstep, driving, the trace loop);
reading the telemetry is in :mod:`bridges.beamng.readings`, the power accounting in
:mod:`bridges.beamng.accounting`, and checking the settings in :mod:`bridges.beamng.settings`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from bridges import drive_cycles
from bridges.beamng.accounting import PowerAccounting
from bridges.beamng.client import DEFAULT_PORT, BeamNGClient
from bridges.beamng.driver import TraceController
from bridges.beamng.limits import MotorLimiter
from bridges.beamng.ports import OUTPUTS, input_ports
from bridges.beamng.power import PowerIntegrator
from bridges.beamng.readings import TelemetryReading, _sim_time
from bridges.beamng.settings import _is_whole, _preset, _settings_problems
from bridges.errors import BridgeError
from bridges.ev_model import VehicleParams, aux_power
from bridges.telemetry import TelemetryLog
from cosim.errors import EvtwinWarning, ScenarioError, SimulationError
from cosim.unit import PythonUnit


class BeamNGUnit(TelemetryReading, PowerAccounting, PythonUnit):
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

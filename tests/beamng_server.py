"""A loopback BeamNG.tech stand-in for tests: a real TCP server speaking beamngpy's wire protocol.

Messages are length-prefixed msgpack (4-byte big-endian length), every request carries ``type`` and
``_id`` and every reply echoes the ``_id`` with the type the client expects (see
``reference/beamngpy_protocol.md``). The server plays one electric car: a longitudinal model with a
rear motor, driven by ``Control`` messages (throttle/brake) or by its own AI (``SetAiMode span``), that
advances only on ``Step`` (deterministic, paused simulator). It answers Electrics and State sensor
requests and the PowertrainSensor with readings every 10 ms of simulated time, like BeamNG's
``tech_powertrainSensor`` (device ``rearMotor`` with ``outputTorque1``/``outputAV1``, plus a
non-motor ``rearDiff``).

Failure modes for tests: ``protocol_version`` (answer Hello with another version) and
``die_after_steps`` (close every socket instead of answering that Step), ``refuse`` (vehicle request
types answered with an error, as a simulator or version that lacks them).
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
from dataclasses import dataclass, field

import msgpack

G = 9.80665


@dataclass
class CarModel:
    """Longitudinal model of the served car (SI)."""

    mass: float = 1850.0
    crr: float = 0.008
    cda: float = 0.51
    rho: float = 1.2
    wheel_radius: float = 0.334
    gear_ratio: float = 9.0
    peak_torque: float = 420.0
    peak_power: float = 239e3
    regen_torque: float = 300.0
    regen_power: float = 80e3
    brake_force_per_unit: float = 1.0 * G * 1850.0  # brake pedal 1 -> 1 g

    def road_load(self, v: float) -> float:
        return (self.crr * self.mass * G + 0.5 * self.rho * self.cda * v * v) if v > 0 else 0.0


@dataclass
class SimVehicle:
    """State of the served car."""

    vid: str
    model: str
    car: CarModel = field(default_factory=CarModel)
    t: float = 0.0
    v: float = 0.0
    x: float = 0.0
    throttle: float = 0.0
    brake: float = 0.0
    ai_mode: str = "disabled"
    ai_speed: float = 20.0
    ai_aggression: float = 0.3
    regen_strength: int = 3
    torque: float = 0.0
    regen_fraction: float = 0.0
    readings: list = field(default_factory=list)
    history: list = field(default_factory=list)  # every reading ever taken, for tests to check against
    sensor_timer: float = 0.0
    sensor_open: bool = False

    def ai_controls(self) -> tuple[float, float]:
        # a route with a slow bend every 600 m; the AI brakes for it at 2 m/s^2
        period, bend_len = 600.0, 80.0
        bend_speed = 0.45 * self.ai_speed
        pos = self.x % period
        to_bend = period - bend_len - pos if pos < period - bend_len else 0.0
        target = (
            min(self.ai_speed, math.sqrt(bend_speed**2 + 2 * 2.0 * to_bend)) if to_bend > 0 else bend_speed
        )
        a_des = max(-3.0, min(0.8 + 2.5 * self.ai_aggression, 1.5 * (target - self.v)))
        force = self.car.mass * a_des + self.car.road_load(self.v)
        if force >= 0:
            return min(1.0, force / self._drive_force_limit()), 0.0
        return 0.0, min(1.0, -force / self.car.brake_force_per_unit)

    def _drive_force_limit(self) -> float:
        c = self.car
        w = self.v * c.gear_ratio / c.wheel_radius
        return min(c.peak_torque, c.peak_power / max(w, 1e-6)) * c.gear_ratio / c.wheel_radius

    def advance(self, dt: float) -> None:
        c = self.car
        throttle, brake = (
            self.ai_controls() if self.ai_mode not in ("disabled", "manual") else (self.throttle, self.brake)
        )
        w = self.v * c.gear_ratio / c.wheel_radius
        drive = throttle * self._drive_force_limit()
        wanted_brake = brake * c.brake_force_per_unit
        regen_cap = min(c.regen_torque, c.regen_power / max(w, 1e-6)) * c.gear_ratio / c.wheel_radius
        regen_cap *= self.regen_strength / 5.0 * min(1.0, self.v / 2.0)
        regen = min(wanted_brake, regen_cap)
        friction = wanted_brake - regen
        self.torque = (drive - regen) * c.wheel_radius / c.gear_ratio
        self.regen_fraction = regen / regen_cap if regen_cap > 0 else 0.0
        force = drive - regen - friction - c.road_load(self.v)
        v_new = max(0.0, self.v + force / (c.mass * 1.04) * dt)
        self.x += 0.5 * (self.v + v_new) * dt
        self.v = v_new
        self.throttle_now, self.brake_now = throttle, brake
        self.t += dt
        if self.sensor_open:
            self.sensor_timer += dt
            if self.sensor_timer >= 0.01 - 1e-12:
                self.sensor_timer -= 0.01
                reading = self.reading()
                self.readings.append(reading)
                self.history.append(reading)

    def reading(self) -> dict:
        c = self.car
        w = self.v * c.gear_ratio / c.wheel_radius
        return {
            "time": round(self.t, 9),
            "rearMotor": {
                "outputTorque1": self.torque,
                "outputAV1": w,
                "inputAV": 0.0,
                "gearRatio": 1.0,
                "isBroken": False,
                "mode": "connected",
            },
            "rearDiff": {
                "outputTorque1": self.torque * c.gear_ratio / 2,
                "outputTorque2": self.torque * c.gear_ratio / 2,
                "outputAV1": self.v / c.wheel_radius,
                "outputAV2": self.v / c.wheel_radius,
                "inputAV": w,
                "gearRatio": c.gear_ratio,
                "isBroken": False,
                "mode": "open",
                "parentName": "rearMotor",
                "parentOutputIndex": 1,
            },
        }

    def electrics(self) -> dict:
        return {
            "wheelspeed": self.v,
            "airspeed": self.v,
            "throttle": getattr(self, "throttle_now", 0.0),
            "throttle_input": self.throttle,
            "brake": getattr(self, "brake_now", 0.0),
            "brake_input": self.brake,
            "regenThrottle": self.regen_fraction,
            "regenStrength": self.regen_strength,
            "maxRegenStrength": 5,
            "regenFromBrake": self.regen_fraction if self.brake > 0 else 0.0,
            "regenFromOnePedal": 0.0,
            "gear": "D",
            "running": True,
            "ignitionLevel": 2,
            "signal_L": 0,
            "lights_state": 0,
        }

    def state(self) -> dict:
        return {
            "pos": [-717.121 + self.x, 101.0, 118.675],
            "dir": [1.0, 0.0, 0.0],
            "up": [0.0, 0.0, 1.0],
            "vel": [self.v, 0.0, 0.0],
            "rotation": [0.0, 0.0, 0.0, 1.0],
            "time": round(self.t, 9),
        }


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n > 0:
        data = sock.recv(n)
        if not data:
            return None
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


class FakeBeamNG:
    """The stand-in simulator. ``start()`` returns the engine port; ``stop()`` closes everything.

    Parameters
    ----------
    protocol_version : str
        What Hello answers (beamngpy 1.36 expects ``v1.27``).
    die_after_steps : int, optional
        Close every socket when this many Step messages have been answered, instead of the next answer.
    steps_per_second : int
        Frames per simulated second until the client sets them.
    readings_as_list : bool
        Send powertrain readings as a list instead of a map keyed 1, 2, ...
    frame_factor : int
        Simulate this many frames per frame asked (> 1 breaks lockstep, for the lockstep check).
    refuse : tuple of str
        Vehicle request types (``SetAiMode``, ``QueueLuaCommandVE``, ...) to answer with an error.
    """

    def __init__(
        self,
        protocol_version: str = "v1.27",
        die_after_steps: int | None = None,
        steps_per_second: int = 60,
        readings_as_list: bool = False,
        frame_factor: int = 1,
        refuse: tuple[str, ...] = (),
    ):
        self.protocol_version = protocol_version
        self.die_after_steps = die_after_steps
        self.sps = steps_per_second
        self.readings_as_list = readings_as_list
        self.frame_factor = frame_factor  # > 1 plays a simulator that runs more frames than asked
        self.refuse = set(refuse)  # vehicle requests answered with an error, as a simulator that lacks them
        self.lua_chunks: list[str] = []  # vehicle Lua chunks received (QueueLuaCommandVE)
        self.vehicles: dict[str, SimVehicle] = {}
        self.step_counts: list[int] = []  # frames asked by each Step message
        self.requests: list[str] = []
        self.deterministic = False
        self.paused = False
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._dead = False
        self._vehicle_listeners: dict[str, socket.socket] = {}

    # -- transport ---------------------------------------------------------------------------------
    def _listen(self) -> socket.socket:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        self._sockets.append(srv)
        return srv

    def start(self) -> int:
        srv = self._listen()
        self._spawn(self._accept_loop, srv, self._engine_request)
        return srv.getsockname()[1]

    def _spawn(self, fn, *args) -> None:
        th = threading.Thread(target=fn, args=args, daemon=True)
        th.start()
        self._threads.append(th)

    def _accept_loop(self, srv: socket.socket, handler) -> None:
        while not self._dead:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets.append(conn)
            self._spawn(self._serve, conn, handler)

    def _serve(self, conn: socket.socket, handler) -> None:
        try:
            while not self._dead:
                head = _recv_exact(conn, 4)
                if head is None:
                    return
                body = _recv_exact(conn, struct.unpack("!I", head)[0])
                if body is None:
                    return
                req = msgpack.unpackb(body, raw=False, strict_map_key=False)
                with self._lock:
                    self.requests.append(req.get("type", "?"))
                    reply = handler(req)
                if reply is None:  # the simulator "dies"
                    self.stop()
                    return
                reply["_id"] = req["_id"]
                data = msgpack.packb(reply, use_bin_type=True)
                conn.sendall(struct.pack("!I", len(data)) + data)
        except OSError:
            return

    def stop(self) -> None:
        self._dead = True
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    # -- engine (game-engine Lua) requests -------------------------------------------------------
    def _engine_request(self, req: dict) -> dict | None:
        kind = req["type"]
        simple = {
            "Hello": {"type": "Hello", "protocolVersion": self.protocol_version},
            "GetSystemInfo": {
                "type": "GetSystemInfo",
                "os": {"type": "Linux", "version": "loopback"},
                "tech": True,
            },
            "GetEnvironmentPaths": {
                "type": "GetEnvironmentPaths",
                "home": "/loopback/BeamNG.tech",
                "user": "/loopback/user/0.36",
            },
            "LoadScenario": {"type": "MapLoaded"},
            "StartScenario": {"type": "ScenarioStarted"},
            "GetPowertrainId": {"type": "GetPowertrainId", "data": 7},
            "Quit": {"type": "Quit"},
        }
        if kind in simple:
            return simple[kind]
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return {"type": kind, "bngError": f"loopback server does not know the request {kind!r}"}
        return handler(req)

    def _on_CreateScenario(self, req: dict) -> dict:
        for line in req["prefab"].splitlines():
            if line.strip():
                obj = json.loads(line)
                if obj.get("class") == "BeamNGVehicle":
                    self.vehicles[obj["name"]] = SimVehicle(obj["name"], obj["jBeam"])
        return {"type": "CreateScenario", "result": f"/levels/{req['level']}/scenarios/{req['name']}.json"}

    def _on_SetPhysicsDeterministic(self, req: dict) -> dict:
        self.deterministic = True
        return {"type": "SetPhysicsDeterministic"}

    def _on_FPSLimit(self, req: dict) -> dict:
        self.sps = int(req["fps"])
        return {"type": "SetFPSLimit"}

    def _on_GetCurrentVehicles(self, req: dict) -> dict:
        vehicles = {
            vid: {"id": str(1000 + i), "name": vid, "model": v.model, "options": {}}
            for i, (vid, v) in enumerate(self.vehicles.items())
        }
        return {"type": "GetCurrentVehicles", "result": vehicles}

    def _on_GetPlayerVehicleID(self, req: dict) -> dict:
        return {"type": "getPlayerVehicleID", "id": 1000, "vid": next(iter(self.vehicles), "")}

    def _on_StartVehicleConnection(self, req: dict) -> dict:
        srv = self._listen()
        vid = req["vid"]
        self._spawn(self._accept_loop, srv, lambda r, vid=vid: self._vehicle_request(vid, r))
        return {"type": "StartVehicleConnection", "vid": vid, "result": srv.getsockname()[1]}

    def _on_Pause(self, req: dict) -> dict:
        self.paused = True
        return {"type": "Paused"}

    def _on_Resume(self, req: dict) -> dict:
        self.paused = False
        return {"type": "Resumed"}

    def _on_Step(self, req: dict) -> dict | None:
        if self.die_after_steps is not None and len(self.step_counts) >= self.die_after_steps:
            return None
        count = int(req["count"])
        self.step_counts.append(count)
        dt = 1.0 / self.sps
        for _ in range(count * self.frame_factor):
            for v in self.vehicles.values():
                for _sub in range(4):
                    v.advance(dt / 4)
        return {"type": "Stepped"}

    def _on_OpenPowertrain(self, req: dict) -> dict:
        self.vehicles[req["vid"]].sensor_open = True
        return {"type": "OpenedPowertrain"}

    def _on_PollPowertrainGE(self, req: dict) -> dict:
        v = next(iter(self.vehicles.values()))
        readings, v.readings = v.readings, []
        data = readings if self.readings_as_list else {i + 1: r for i, r in enumerate(readings)}
        return {"type": "PowertrainSensorData", "data": data}

    def _on_ClosePowertrain(self, req: dict) -> dict:
        for v in self.vehicles.values():
            v.sensor_open = False
        return {"type": "ClosedPowertrain"}

    # -- vehicle (vehicle Lua) requests ------------------------------------------------------------
    def _vehicle_request(self, vid: str, req: dict) -> dict:
        v = self.vehicles[vid]
        kind = req["type"]
        if kind == "Hello":
            return {"type": "Hello", "protocolVersion": self.protocol_version}
        if kind == "SensorRequest":
            data = {}
            for name, spec in req["sensors"].items():
                if spec["type"] == "State":
                    data[name] = {"state": v.state()}
                elif spec["type"] == "Electrics":
                    data[name] = {"values": v.electrics()}
            return {"type": "SensorData", "data": data}
        if kind == "Control":
            v.throttle = float(req.get("throttle", v.throttle))
            v.brake = float(req.get("brake", v.brake))
            return {"type": "Controlled"}
        if kind in self.refuse:
            return {"type": kind, "bngError": f"loopback vehicle refuses {kind!r}"}
        if kind == "QueueLuaCommandVE":
            self.lua_chunks.append(req["chunk"])
            return {"type": "ExecutedLuaChunkVE", "resp": None}
        if kind == "SetAiMode":
            v.ai_mode = req["mode"]
            return {"type": "AiModeSet"}
        if kind == "SetAiSpeed":
            v.ai_speed = float(req["speed"])
            return {"type": "AiSpeedSet"}
        if kind == "SetAiAggression":
            v.ai_aggression = float(req["aggression"])
            return {"type": "AiAggressionSet"}
        return {"type": kind, "bngError": f"loopback vehicle does not know the request {kind!r}"}

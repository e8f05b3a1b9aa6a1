"""The raw layer over beamngpy (imported on first use): every simulator call goes through one choke point
that logs and times it and turns any failure into a :class:`~bridges.errors.BridgeError` naming the
operation and the vehicle, with a hint at the likely cause.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from bridges.errors import BridgeError

log = logging.getLogger("evtwin.bridges.beamng")

#: The port BeamNG.tech listens on unless told otherwise (its ``-tport`` default).
DEFAULT_PORT = 25252


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

    def lua(self, chunk: str) -> None:
        """Run a chunk of Lua in the vehicle's VM (``vehicle.queue_lua_command``)."""
        self._call("lua", self.vehicle.queue_lua_command, chunk)

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

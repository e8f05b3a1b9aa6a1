"""Errors of the vehicle side. Each says what failed, where, and what to do about it."""

from __future__ import annotations

from cosim.errors import EvtwinError, SimulationError


class BridgeError(SimulationError):
    """A call into BeamNG.tech (through beamngpy) failed.

    Parameters
    ----------
    operation : str
        The bridge operation (``open``, ``spawn``, ``step``, ``poll``, ...).
    vehicle_id : str
        The vehicle the call was for.
    cause : str
        What the simulator or the client reported.
    hint : str
        What the user can do.
    unit : str, optional
        Instance name of the unit in the scenario.
    t : float, optional
        Co-simulation time of the failure [s].
    """

    def __init__(
        self,
        operation: str,
        vehicle_id: str,
        cause: str,
        hint: str = "",
        unit: str | None = None,
        t: float | None = None,
    ):
        self.operation, self.vehicle_id, self.cause, self.hint = operation, vehicle_id, cause, hint
        message = f"BeamNG.tech '{operation}' for vehicle {vehicle_id!r} failed: {cause.rstrip('. ')}"
        if hint:
            message += f"; {hint}"
        super().__init__(message, unit, t)


class TelemetryError(EvtwinError):
    """A recorded telemetry log that cannot be replayed; names the file and the sample."""

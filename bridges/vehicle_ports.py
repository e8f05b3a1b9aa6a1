"""The built-in EV unit's ports: what it takes from the battery and the schedule, and what it reports."""

from __future__ import annotations

import math

from bridges.ev_model import VehicleParams
from cosim.unit import INPUT, OUTPUT, Port

DEFAULT_AMBIENT = 296.15  # K (23 degC: the EPA/WLTP test-cell temperature range)

OUTPUTS = (
    Port(
        "P_battery",
        OUTPUT,
        "W",
        "Mean power drawn at the battery terminals over the last step (negative while regenerating)",
    ),
    Port("speed", OUTPUT, "m/s", "Vehicle speed at the end of the step", min=0.0),
    Port("distance", OUTPUT, "m", "Odometer at the end of the step", min=0.0),
    Port(
        "motor_torque",
        OUTPUT,
        "N.m",
        "Mean motor shaft torque over the last step (negative while regenerating)",
    ),
    Port("motor_speed", OUTPUT, "rad/s", "Motor shaft speed at the end of the step", min=0.0),
    Port("P_regen", OUTPUT, "W", "Mean electrical power returned by the motor over the last step", min=0.0),
    Port("P_aux", OUTPUT, "W", "Mean auxiliary and HVAC draw over the last step", min=0.0),
    Port("P_loss", OUTPUT, "W", "Mean motor, inverter and gear losses over the last step"),
    Port("P_brake", OUTPUT, "W", "Mean power dissipated by the friction brakes over the last step", min=0.0),
    Port("speed_deficit", OUTPUT, "m/s", "Trace speed minus vehicle speed at the end of the step", min=0.0),
    Port("time_limited", OUTPUT, "s", "Time held below the trace by the battery's power limit", min=0.0),
    Port("stranded", OUTPUT, "1", "1 while the pack cannot power the car (it stands until the drive ends)"),
    Port("consumption", OUTPUT, "J/m",
         "Forecast consumption: battery energy per metre over the cycle mix at the ambient temperature", min=0.0),
    Port("E_planned", OUTPUT, "J", "Forecast battery energy of the planned_distance input's trips", min=0.0),
)


def inputs(params: VehicleParams) -> tuple[Port, ...]:
    """The vehicle's input ports; regen starts limited to what ``params`` allow."""
    return (
        Port(
            "P_charge_max",
            INPUT,
            "W",
            "Charge power the battery accepts now; regen is limited to it",
            start=params.regen_max,
            min=0.0,
        ),
        Port(
            "P_discharge_max",
            INPUT,
            "W",
            "Power the battery delivers now; traction is limited to it",
            start=math.inf,
            min=0.0,
        ),
        Port(
            "drive",
            INPUT,
            "1",
            "1 while a drive is scheduled, 0 while parked",
            start=1.0,
            min=0.0,
            max=1.0,
        ),
        Port("T_ambient", INPUT, "K", "Ambient temperature", start=DEFAULT_AMBIENT, min=0.0),
        Port(
            "trip", INPUT, "1", "Index into the cycle mix for the next trip (< 0: in order)", start=-1.0
        ),
        Port("trip_distance", INPUT, "m",
             "Distance of this drive; the car parks once it has driven it (0: drive until the drive ends)",
             start=0.0, min=0.0),
        Port("planned_distance", INPUT, "m", "Distance of the planned trips E_planned forecasts", start=0.0,
             min=0.0),
    )

"""The ports of a BeamNG.tech vehicle unit: the inputs every vehicle unit takes, and its outputs (the
shared vehicle outputs of :mod:`bridges.vehicle_contract`, then BeamNG's raw telemetry).
"""

from __future__ import annotations

import math

from bridges.vehicle_ports import DEFAULT_AMBIENT
from cosim.unit import INPUT, OUTPUT, Port


def input_ports(regen_max: float) -> tuple[Port, ...]:
    """The inputs, with the vehicle's own regen limit [W] as the charge limit until the battery's arrives."""
    return (
        Port(
            "P_charge_max",
            INPUT,
            "W",
            "Charge power the battery accepts now; regen beyond it counts as friction braking",
            start=regen_max,
            min=0.0,
        ),
        Port(
            "P_discharge_max",
            INPUT,
            "W",
            "Power the battery delivers now; motor power above it is unmet (P_unmet)",
            start=math.inf,
            min=0.0,
        ),
        Port("drive", INPUT, "1", "1 while the vehicle drives, 0 parked (AI off, brake held)", start=1.0),
        Port("T_ambient", INPUT, "K", "Ambient temperature (auxiliary and HVAC load)", start=DEFAULT_AMBIENT),
    )


OUTPUTS = (
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
    Port(
        "P_unmet",
        OUTPUT,
        "W",
        "Mean motor power above what the battery delivers (P_discharge_max) over the last step",
        min=0.0,
    ),
    Port("regen_events", OUTPUT, "1", "Number of regenerative braking events so far", min=0.0),
    Port("sim_time", OUTPUT, "s", "Simulator time (the co-simulation time when the simulator reports none)"),
    Port("throttle", OUTPUT, "1", "Electrics throttle at the end of the step"),
    Port("brake", OUTPUT, "1", "Electrics brake at the end of the step"),
    Port("regen_throttle", OUTPUT, "1", "Electrics regenThrottle at the end of the step"),
)

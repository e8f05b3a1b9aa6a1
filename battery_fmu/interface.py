"""The battery twin's interface: one declaration for the FMU, the in-process unit and the docs.

SI units throughout (the capacity parameter keeps its customary A h and says so). Kept free
of imports beyond the standard library because it travels inside the FMU.
"""

from __future__ import annotations

from typing import NamedTuple


class Variable(NamedTuple):
    name: str
    causality: str  # "input" | "output" | "parameter"
    unit: str
    description: str
    start: float | int | bool | str = 0.0
    type: str = "Real"
    min: float | None = None
    max: float | None = None


INTERFACE: tuple[Variable, ...] = (
    # inputs
    Variable("P_load", "input", "W", "Power drawn at the pack terminals by the vehicle; negative while regenerating", 0.0),
    Variable("I_charge", "input", "A", "Current pushed into the pack by a charger (>= 0)", 0.0),
    Variable("T_ambient", "input", "K", "Ambient air temperature around the pack", 298.15),
    Variable("T_coolant", "input", "K", "Coolant temperature at the cooling plate; used when coolant_connected is true",
             298.15),
    # outputs
    Variable("SOC", "output", "1", "State of charge relative to the present (aged) capacity"),
    Variable("V_terminal", "output", "V", "Pack terminal voltage, mean over the last step"),
    Variable("I_terminal", "output", "A", "Pack current over the last step; positive while discharging"),
    Variable("P_terminal", "output", "W", "Power delivered at the pack terminals over the last step; negative while charging"),
    Variable("P_unmet", "output", "W", "Part of P_load the pack could not deliver within its limits over the last step"),
    Variable("T_cell", "output", "K", "Cell temperature (lumped node)"),
    Variable("T_housing", "output", "K", "Housing / cooling-plate temperature (second thermal node)"),
    Variable("SOH_capacity", "output", "1", "Capacity relative to new"),
    Variable("SOH_resistance", "output", "1", "Internal resistance relative to new"),
    Variable("Q_heat", "output", "W", "Heat generated in the cells over the last step (ohmic, polarisation, hysteresis, "
             "entropic)"),
    Variable("Q_coolant", "output", "W", "Heat flowing from the housing into the coolant over the last step (0 unless "
             "coolant_connected)"),
    Variable("Q_ambient", "output", "W", "Heat flowing from the housing to the ambient air over the last step"),
    Variable("P_discharge_max", "output", "W", "Power the pack can deliver now for a step of the last length"),
    Variable("P_charge_max", "output", "W", "Power the pack can accept now for a step of the last length"),
    Variable("I_discharge_max", "output", "A", "Discharge current limit now (rating, temperature derating, voltage, SOC)"),
    Variable("I_charge_max", "output", "A", "Charge current limit now (rating, temperature derating, voltage, SOC): what a "
             "BMS tells the charger"),
    Variable("EFC", "output", "1", "Equivalent full cycles so far, against the nominal capacity"),
    # parameters
    # Parameter ranges: what a pack can be (model.check_settings enforces the same at initialisation).
    Variable("capacity_Ah", "parameter", "Ah", "Nominal cell capacity; resistances, heat capacities and current ratings "
             "scale with it from the parameter set", 220.0, min=0.001, max=1e5),
    Variable("n_series", "parameter", "1", "Cells in series", 106, "Integer", min=1, max=10000),
    Variable("n_parallel", "parameter", "1", "Cells in parallel", 1, "Integer", min=1, max=10000),
    Variable("SOC_init", "parameter", "1", "Initial state of charge", 0.5, min=0.0, max=1.0),
    Variable("SOH_init", "parameter", "1", "Initial capacity relative to new", 1.0, min=0.01, max=1.0),
    Variable("T_init", "parameter", "K", "Initial cell and housing temperature", 298.15, min=200.0, max=400.0),
    Variable("coolant_connected", "parameter", "1", "Whether the housing exchanges heat with T_coolant (a cooling loop)",
             False, "Boolean"),
    Variable("parameter_set", "parameter", "1", "Cell parameter set: a file name in battery_fmu/params without .toml",
             "lfp_220ah", "String"),
    # manufacturing variation of this pack (battery_fmu/variation.py)
    Variable("capacity_factor", "parameter", "1", "Capacity when new relative to nominal (SOH_capacity starts here)",
             1.0),
    Variable("calendar_fade_factor", "parameter", "1", "Factor on the calendar capacity-fade rate", 1.0),
    Variable("cycle_fade_factor", "parameter", "1", "Factor on the cycle capacity-fade rate", 1.0),
    Variable("resistance_growth_factor", "parameter", "1", "Factor on both resistance-growth rates", 1.0),
)


#: Output name -> attribute of :class:`battery_fmu.model.BatteryPack` that holds it.
PACK_ATTRIBUTE: dict[str, str] = {
    "SOC": "soc", "V_terminal": "voltage", "I_terminal": "current", "P_terminal": "power",
    "P_unmet": "power_request_unmet", "T_cell": "t_cell", "T_housing": "t_housing",
    "SOH_capacity": "soh_capacity", "SOH_resistance": "soh_resistance", "Q_heat": "heat",
    "Q_coolant": "heat_to_coolant", "Q_ambient": "heat_to_ambient", "P_discharge_max": "power_discharge_max",
    "P_charge_max": "power_charge_max", "I_discharge_max": "current_discharge_max",
    "I_charge_max": "current_charge_max", "EFC": "efc",
}

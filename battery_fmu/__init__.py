"""The battery twin: a LiFePO4/graphite pack with SOC, hysteresis, two RC pairs, two-node thermal
model, and calendar plus cycle aging; its equations, parameters, FMU and in-process unit.

Kept light: importing it loads the standard library only (it travels inside the FMU).
"""

from battery_fmu.aging import AgingModel
from battery_fmu.model import BatteryPack, InputError
from battery_fmu.parameters import CellParameters, ParameterError, load_cell, load_parameters, scaled_to_capacity

__all__ = [
    "AgingModel", "BatteryPack", "CellParameters", "InputError", "ParameterError", "load_cell", "load_parameters",
    "scaled_to_capacity",
]

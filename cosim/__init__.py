"""The generic co-simulation engine: units, FMU adapter, master, connections, scenarios, results.

It knows nothing about batteries or vehicles; it sees only units with declared ports.
"""

from cosim.errors import EvtwinError, FMUCallError, ScenarioError, SimulationError
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port, PythonUnit, Unit

__all__ = [
    "EvtwinError", "FMUCallError", "ScenarioError", "SimulationError",
    "INPUT", "OUTPUT", "PARAMETER", "Port", "PythonUnit", "Unit",
]

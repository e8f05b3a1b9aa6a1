"""The generic co-simulation engine: units, FMU adapter, master, connections, scenarios, results.

It knows nothing about batteries or vehicles; it sees only units with declared ports.
"""

from cosim.connection import Connection
from cosim.errors import EvtwinError, EvtwinWarning, FMUCallError, ScenarioError, SimulationError
from cosim.master import Event, LoopSolver, Master, MasterSettings, Observer, RunStats
from cosim.timeline import Segment
from cosim.unit import INPUT, OUTPUT, PARAMETER, Port, PythonUnit, Unit

__all__ = [
    "EvtwinError", "EvtwinWarning", "FMUCallError", "ScenarioError", "SimulationError",
    "INPUT", "OUTPUT", "PARAMETER", "Port", "PythonUnit", "Unit",
    "Connection", "Event", "LoopSolver", "Master", "MasterSettings", "Observer", "RunStats", "Segment",
]

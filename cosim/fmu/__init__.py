"""FMUs as units, and what an FMU declares.

- :mod:`cosim.fmu.description`: reading ``modelDescription.xml`` without running the FMU.
- :mod:`cosim.fmu.variables`: its variables as ports, their units, start values and bounds.
- :mod:`cosim.fmu.adapter`: :class:`FMUUnit`, an FMU as a unit of the co-simulation.
- :mod:`cosim.fmu.loading`: its set-up: extraction, loading the binary, instantiation, start values.
- :mod:`cosim.fmu.binding`: checks of the names and values given to ``configure`` and ``bind``.
- :mod:`cosim.fmu.isolated`: :class:`IsolatedFMU`, the same in a child process (``isolate: true``).
- :mod:`cosim.fmu.log`: the FMU's log messages, kept for error reports.
- :mod:`cosim.fmu.inspect`: the ``evtwin inspect`` command.

fmpy loads only when an FMU is read or run, so importing this package stays cheap.
"""

from cosim.fmu.adapter import FMUState, FMUUnit
from cosim.fmu.description import FMUDescription, read_description
from cosim.fmu.isolated import IsolatedFMU
from cosim.fmu.variables import DeclaredUnit, Variable, unknown_units

__all__ = [
    "DeclaredUnit",
    "FMUDescription",
    "FMUState",
    "FMUUnit",
    "IsolatedFMU",
    "Variable",
    "read_description",
    "unknown_units",
]

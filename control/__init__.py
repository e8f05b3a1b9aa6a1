"""Charging controllers: the CC-CV charger and the CasADi MPC (unit types ``cccv_charger``, ``mpc_charger``).

Importing this package loads neither CasADi nor numpy; the MPC imports CasADi when it is built.
"""

from control.cccv import CCCVCharger
from control.departure import Departures
from control.efficiency import ChargerEfficiency

__all__ = ["CCCVCharger", "ChargerEfficiency", "Departures", "MPCCharger"]


def __getattr__(name: str):
    # The MPC pulls in CasADi: load it only when asked for.
    if name == "MPCCharger":
        from control.mpc import MPCCharger

        return MPCCharger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

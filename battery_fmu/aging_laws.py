"""Which aging laws a cell follows, picked by its parameter set's ``[cell] chemistry``.

One entry per chemistry: the dataclasses its ``[aging.capacity]`` and ``[aging.resistance]`` sections
load into, and the online aging model that applies them. A chemistry without laws is refused when its
parameter set loads, so a cell is never aged with another chemistry's laws.

Every law is imported here, eagerly: inside an FMU the package is imported from the FMU's own
extraction folder, which a host may delete once that instance ends, so a module first imported
later (by a second instance in the same process) would no longer be found.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery_fmu.aging import AgingModel
from battery_fmu.aging_nmc import NmcAgingModel
from battery_fmu.nmc_laws import NmcCapacityAgingParameters, NmcResistanceAgingParameters
from battery_fmu.parameters import CapacityAgingParameters, ResistanceAgingParameters


@dataclass(frozen=True)
class AgingLaws:
    """The aging laws of one chemistry."""

    chemistry: str
    capacity_parameters: type
    resistance_parameters: type
    model: type
    description: str


LAWS: dict[str, AgingLaws] = {
    "LFP": AgingLaws("LFP", CapacityAgingParameters, ResistanceAgingParameters, AgingModel,
                     "Gasper et al. 2023 (250 Ah LFP) capacity, Naumann et al. 2018/2020 resistance"),
    "NMC": AgingLaws("NMC", NmcCapacityAgingParameters, NmcResistanceAgingParameters, NmcAgingModel,
                     "Gasper et al. 2023 (75 Ah NMC-Gr A) capacity, Schmalstieg et al. 2014 resistance"),
}


def laws_for(chemistry: str) -> AgingLaws:
    """The laws of ``chemistry`` (``LFP`` or ``NMC``).

    Raises
    ------
    KeyError
        With the chemistries that have laws.
    """
    if chemistry not in LAWS:
        known = ", ".join(LAWS)
        raise KeyError(f"no aging laws for chemistry {chemistry!r}; chemistries with laws: {known}")
    return LAWS[chemistry]


def aging_model(params, **kwargs):
    """The online aging model for ``params`` (a :class:`battery_fmu.parameters.CellParameters`)."""
    return laws_for(params.chemistry).model(params, **kwargs)

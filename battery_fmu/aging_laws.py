"""Which aging laws a cell follows, picked by its parameter set's ``[cell] chemistry``.

One entry per chemistry: the dataclasses its ``[aging.capacity]`` and ``[aging.resistance]`` sections
load into, and the online aging model that applies them. A chemistry without laws is refused when its
parameter set loads, so a cell is never aged with another chemistry's laws.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class AgingLaws:
    """The aging laws of one chemistry, as ``module:name`` references (loaded on use)."""

    chemistry: str
    capacity_parameters: str
    resistance_parameters: str
    model: str
    description: str

    def _load(self, ref: str):
        module, _, name = ref.partition(":")
        return getattr(import_module(module), name)

    def capacity_class(self) -> type:
        return self._load(self.capacity_parameters)

    def resistance_class(self) -> type:
        return self._load(self.resistance_parameters)

    def model_class(self) -> type:
        return self._load(self.model)


LAWS: dict[str, AgingLaws] = {
    "LFP": AgingLaws("LFP", "battery_fmu.parameters:CapacityAgingParameters",
                     "battery_fmu.parameters:ResistanceAgingParameters", "battery_fmu.aging:AgingModel",
                     "Gasper et al. 2023 (250 Ah LFP) capacity, Naumann et al. 2018/2020 resistance"),
    "NMC": AgingLaws("NMC", "battery_fmu.nmc_laws:NmcCapacityAgingParameters",
                     "battery_fmu.nmc_laws:NmcResistanceAgingParameters",
                     "battery_fmu.aging_nmc:NmcAgingModel",
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
    return laws_for(params.chemistry).model_class()(params, **kwargs)

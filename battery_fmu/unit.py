"""The battery twin as an in-process unit: the same model as the FMU, without the FMI layer.

Scenario type ``battery``. Useful where speed matters more than packaging (years of life in
seconds) and as the reference the FMU is tested against.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from battery_fmu.interface import INTERFACE, PACK_ATTRIBUTE
from battery_fmu.model import BatteryPack, InputError
from battery_fmu.parameters import ParameterError, load_cell
from battery_fmu.variation import Variation
from cosim.errors import SimulationError
from cosim.unit import Port, Unit

_INPUTS = ("P_load", "I_charge", "T_ambient", "T_coolant")
# Output port -> attribute path on the unit.
_OUTPUTS = {name: f"pack.{attr}" for name, attr in PACK_ATTRIBUTE.items()}


class BatteryUnit(Unit):
    """LiFePO4 battery pack twin (same ports as ``BatteryTwin.fmu``)."""

    can_save_state = True
    can_vary_step = True
    #: The pack, from the scenario's shared values (a vehicle preset states it).
    SHARED_PARAMETERS = {name: name for name in ("capacity_Ah", "n_series", "n_parallel", "parameter_set")}

    def __init__(self, **parameters: Any):
        self._params = {v.name: v.start for v in INTERFACE if v.causality == "parameter"}
        # Input values in _INPUTS order; bind() maps the master's order onto it.
        self._u = [v.start for v in INTERFACE if v.causality == "input"]
        self.configure(parameters)
        self.pack: BatteryPack | None = None
        self._slots: tuple[int, ...] = ()
        self._read = lambda obj: ()

    def ports(self) -> Sequence[Port]:
        return [Port(v.name, v.causality, v.unit, v.description, v.start, v.min, v.max, v.type) for v in INTERFACE]

    def configure(self, parameters: Mapping[str, Any]) -> None:
        for name, value in parameters.items():
            if name not in self._params:
                raise KeyError(f"battery has no parameter {name!r}; parameters: {sorted(self._params)}")
            self._params[name] = value

    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        for name in inputs:
            if name not in _INPUTS:
                raise KeyError(f"battery has no input {name!r}; inputs: {list(_INPUTS)}")
        unknown = [n for n in outputs if n not in _OUTPUTS]
        if unknown:
            raise KeyError(f"battery has no output {unknown[0]!r}; outputs: {sorted(_OUTPUTS)}")
        self._slots = tuple(_INPUTS.index(name) for name in inputs)
        getter = attrgetter(*[_OUTPUTS[n] for n in outputs]) if outputs else (lambda obj: ())
        self._read = getter if len(outputs) > 1 else (lambda obj: (getter(obj),))

    def setup(self, start_time: float) -> None:
        p = self._params
        try:
            params = load_cell(p["parameter_set"], p["capacity_Ah"])
            self.pack = BatteryPack(params, n_series=p["n_series"], n_parallel=p["n_parallel"], soc=p["SOC_init"],
                                    soh=p["SOH_init"], temperature=p["T_init"],
                                    coolant_connected=bool(p["coolant_connected"]),
                                    variation=Variation.from_parameters(p.__getitem__))
        except (InputError, ParameterError, ValueError) as err:
            raise SimulationError(f"invalid parameter: {err}", self.name, start_time) from None

    def set_inputs(self, values: Sequence[float]) -> None:
        u = self._u
        for slot, value in zip(self._slots, values):
            u[slot] = value

    def get_outputs(self) -> Sequence[float]:
        return self._read(self)

    def do_step(self, t: float, h: float) -> None:
        p_load, i_charge, t_ambient, t_coolant = self._u
        if i_charge < 0.0:
            raise SimulationError(f"input I_charge must be >= 0, got {i_charge}", self.name, t)
        self.pack.step(h, p_load, i_charge, t_ambient, t_coolant)

    def save_state(self) -> Any:
        return copy.deepcopy((self.pack.get_state(), list(self._u)))

    def restore_state(self, state: Any) -> None:
        pack_state, inputs = copy.deepcopy(state)
        self.pack.set_state(pack_state)
        self._u[:] = inputs

    def metadata(self) -> dict[str, str]:
        return {"type": "battery", "parameter_set": str(self._params["parameter_set"])}

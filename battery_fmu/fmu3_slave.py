"""The battery twin as an FMI 3.0 co-simulation slave (built into ``BatteryTwin3.fmu`` by pythonfmu3).

The same pack (:class:`battery_fmu.model.BatteryPack`) and the same interface
(:data:`battery_fmu.interface.INTERFACE`: names, units, ranges, descriptions) as the FMI 2.0 slave
(:mod:`battery_fmu.fmu_slave`); FMI 3.0 adds the independent variable ``time`` first, so every value
reference is one higher. Like the FMI 2.0 slave, the runtime path imports only the standard library.
"""

from __future__ import annotations

import json
import traceback
from math import isfinite
from operator import attrgetter
from pathlib import Path

from pythonfmu3 import (
    Boolean,
    Float64,
    Fmi3Causality,
    Fmi3Initial,
    Fmi3Slave,
    Fmi3Status,
    Fmi3Variability,
    Int32,
    String,
    Unit,
)

from battery_fmu.interface import INTERFACE, PACK_ATTRIBUTE
from battery_fmu.model import BatteryPack, InputError
from battery_fmu.parameters import ParameterError, load_cell
from battery_fmu.variation import Variation

_CAUSALITY = {
    "input": Fmi3Causality.input,
    "output": Fmi3Causality.output,
    "parameter": Fmi3Causality.parameter,
}
_TYPES = {"Real": Float64, "Integer": Int32, "Boolean": Boolean, "String": String}
#: Base units of the interface's units (SI exponents), for the model description.
_UNITS = {
    "W": {"kg": 1, "m": 2, "s": -3},
    "A": {"A": 1},
    "K": {"K": 1},
    "V": {"kg": 1, "m": 2, "s": -3, "A": -1},
    "Ah": {"s": 1, "A": 1, "factor": 3600.0},
}


class BatteryTwin3(Fmi3Slave):
    """LiFePO4 battery pack twin (FMI 3.0): SOC, voltage, two-node thermal, fade and resistance growth."""

    author = "evtwin developers"
    description = (
        "LiFePO4/graphite battery pack twin (FMI 3.0): equivalent circuit with hysteresis, two-node "
        "thermal model, calendar and cycle aging (Gasper et al. 2023; Naumann et al. 2018/2020)"
    )
    license = "BSD-3-Clause"
    version = "0.1.0"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.time = 0.0
        for port in INTERFACE:
            if port.causality != "output":
                setattr(self, port.name, port.start)
        self.pack = BatteryPack(
            self._parameters(),
            n_series=self.n_series,
            n_parallel=self.n_parallel,
            soc=self.SOC_init,
            temperature=self.T_init,
        )
        self._failure = ""
        self.register_units([Unit(name, **base) for name, base in _UNITS.items()])
        self.register_variable(
            Float64(
                "time",
                causality=Fmi3Causality.independent,
                variability=Fmi3Variability.continuous,
                description="Simulation time",
            )
        )
        for port in INTERFACE:
            self._register(port)

    def _register(self, port) -> None:
        kind = _TYPES[port.type]
        kwargs = {"causality": _CAUSALITY[port.causality], "description": port.description}
        if port.type == "Real" and port.unit not in ("1", ""):
            kwargs["unit"] = port.unit
        if port.causality == "output":
            read = attrgetter(f"pack.{PACK_ATTRIBUTE[port.name]}")
            kwargs.update(
                variability=Fmi3Variability.continuous,
                initial=Fmi3Initial.exact,
                getter=lambda: float(read(self)),
            )
        elif port.causality == "input":
            kwargs.update(variability=Fmi3Variability.continuous)
        else:
            kwargs.update(variability=Fmi3Variability.fixed)
        self.register_variable(kind(port.name, **kwargs))

    def exit_initialization_mode(self):
        try:
            self.pack = BatteryPack(
                self._parameters(self.capacity_Ah),
                n_series=self.n_series,
                n_parallel=self.n_parallel,
                soc=self.SOC_init,
                soh=self.SOH_init,
                temperature=self.T_init,
                coolant_connected=bool(self.coolant_connected),
                warn=self._warn,
                variation=Variation.from_parameters(lambda name: getattr(self, name)),
            )
            self._failure = ""
        except (InputError, ParameterError, ValueError) as err:
            self._fail(f"invalid parameter: {err}")
        except Exception:
            self._fail(f"initialisation failed:\n{traceback.format_exc()}")

    # ------------------------------------------------------------------ state

    def _get_fmu_state(self):
        # The whole model state, hidden states included (pythonfmu3 saves only registered variables),
        # so that a restored FMU continues bit-identically; JSON-serialisable for fmi3SerializeFMUState.
        inputs = {p.name: getattr(self, p.name) for p in INTERFACE if p.causality != "output"}
        return {"time": self.time, "inputs": inputs, "pack": self.pack.get_state(), "failure": self._failure}

    def _set_fmu_state(self, state):
        try:
            state = json.loads(json.dumps(state))  # a copy: the tool may restore the same state again
            for name, value in state["inputs"].items():
                setattr(self, name, value)
            self.pack.set_state(state["pack"])
            self.time, self._failure = state["time"], state["failure"]
        except Exception:
            self._fail(f"fmi3SetFMUState failed: not a state of this FMU:\n{traceback.format_exc()}")

    def _fail(self, message: str) -> None:
        self._failure = message
        self.log(message, Fmi3Status.error)

    def _warn(self, message: str) -> None:
        self.log(message, Fmi3Status.warning)

    def _parameters(self, capacity_Ah=None):
        own = Path(self.resources) / "battery_fmu" / "params" if self.resources else None
        return load_cell(self.parameter_set, capacity_Ah, directory=own)

    def do_step(self, current_time: float, step_size: float) -> bool:
        if self._failure:
            self.log(f"cannot step: {self._failure}", Fmi3Status.error)
            return False
        try:
            p_load, i_charge, t_ambient, t_coolant = (
                self.P_load,
                self.I_charge,
                self.T_ambient,
                self.T_coolant,
            )
            if not (
                step_size > 0.0
                and i_charge >= 0.0
                and isfinite(p_load)
                and isfinite(i_charge)
                and isfinite(t_ambient)
                and isfinite(t_coolant)
            ):
                raise InputError(
                    f"bad step at t = {current_time} s: step {step_size!r} s, I_charge {i_charge!r} A "
                    "(>= 0), finite P_load, T_ambient, T_coolant"
                )
            self.pack.step(step_size, p_load, i_charge, t_ambient, t_coolant)
            self.time = current_time + step_size
        except Exception:
            self.log(f"doStep failed at t = {current_time} s:\n{traceback.format_exc()}", Fmi3Status.error)
            return False
        return True

"""The battery twin as an FMI 2.0 co-simulation slave (built into ``BatteryTwin.fmu`` by pythonfmu).

Inside the FMU this module sits next to a copy of the ``battery_fmu`` package in
``resources/``; the runtime path imports nothing beyond the standard library, so the FMU
needs only a CPython 3.11 in the importing process. The interface (names,
SI units, descriptions) is declared once in ``INTERFACE`` and feeds the model description.
"""

from __future__ import annotations

import traceback
from math import isfinite
from operator import attrgetter
from pathlib import Path

from pythonfmu.enums import Fmi2Causality, Fmi2Initial, Fmi2Status, Fmi2Variability
from pythonfmu.fmi2slave import Fmi2Slave
from pythonfmu.variables import Boolean, Integer, Real, String

from battery_fmu.interface import INTERFACE, PACK_ATTRIBUTE
from battery_fmu.model import BatteryPack, InputError
from battery_fmu.parameters import ParameterError, load_cell
from battery_fmu.variation import Variation

_CAUSALITY = {"input": Fmi2Causality.input, "output": Fmi2Causality.output, "parameter": Fmi2Causality.parameter}
_TYPES = {"Real": Real, "Integer": Integer, "Boolean": Boolean, "String": String}


class BatteryTwin(Fmi2Slave):
    """LiFePO4 battery pack twin: SOC, voltage, two-node thermal, capacity fade and resistance growth."""

    author = "evtwin developers"
    description = ("LiFePO4/graphite battery pack twin (220 Ah cells by default): equivalent circuit with hysteresis, "
                   "two-node thermal model, calendar and cycle aging (Gasper et al. 2023; Naumann et al. 2018/2020)")
    license = "BSD-3-Clause"
    version = "0.1.0"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for port in INTERFACE:
            if port.causality != "output":
                setattr(self, port.name, port.start)
        self.pack = BatteryPack(self._parameters(), n_series=self.n_series, n_parallel=self.n_parallel,
                                soc=self.SOC_init, temperature=self.T_init)
        self._getters: list = []
        self._setters: list = []
        self._failure = ""  # why this instance cannot run, once it cannot
        for port in INTERFACE:
            self._register(port)

    def _register(self, port) -> None:
        kind = _TYPES[port.type]
        kwargs = {"causality": _CAUSALITY[port.causality], "description": port.description}
        if port.causality == "output":
            getter = _output_getter(self, port.name)
            kwargs.update(variability=Fmi2Variability.continuous, initial=Fmi2Initial.exact, getter=getter)
        elif port.causality == "input":
            kwargs.update(variability=Fmi2Variability.continuous)
        else:
            kwargs.update(variability=Fmi2Variability.fixed)
        var = kind(port.name, **kwargs)
        self.register_variable(var)
        # Value references are registration indices: keep flat lists for the fast accessors below.
        self._getters.append(var.getter)
        self._setters.append(var.setter)

    # ------------------------------------------------------------------ FMI life cycle

    def exit_initialization_mode(self):
        # Never raise out of a slave method: pythonfmu turns exceptions into fmi2Fatal and then
        # frees the slave twice. Log with fmi2Error instead; the FMU's shim returns fmi2Error.
        try:
            params = self._parameters(self.capacity_Ah)
            self.pack = BatteryPack(params, n_series=self.n_series, n_parallel=self.n_parallel, soc=self.SOC_init,
                                    soh=self.SOH_init, temperature=self.T_init,
                                    coolant_connected=bool(self.coolant_connected), warn=self._warn,
                                    variation=Variation.from_parameters(lambda name: getattr(self, name)))
            self._failure = ""
        except (InputError, ParameterError, ValueError) as err:
            self._fail(f"invalid parameter: {err}")
        except Exception:
            self._fail(f"initialisation failed:\n{traceback.format_exc()}")

    def _fail(self, message: str) -> None:
        self._failure = message
        self.log(message, Fmi2Status.error)

    def _parameters(self, capacity_Ah=None):
        # Resolve parameter files inside this FMU's own resources: in a Python host the package's
        # modules may be shared with another FMU instance (or the host) whose files live elsewhere.
        own = Path(self.resources) / "battery_fmu" / "params" if self.resources else None
        return load_cell(self.parameter_set, capacity_Ah, directory=own)

    def do_step(self, current_time: float, step_size: float) -> bool:
        if self._failure:
            self.log(f"cannot step: {self._failure}", Fmi2Status.error)
            return False
        try:
            p_load, i_charge, t_ambient, t_coolant = self.P_load, self.I_charge, self.T_ambient, self.T_coolant
            if not (step_size > 0.0 and i_charge >= 0.0 and isfinite(p_load) and isfinite(i_charge)
                    and isfinite(t_ambient) and isfinite(t_coolant)):
                raise InputError(_bad_step_message(current_time, step_size, self))
            self.pack.step(step_size, p_load, i_charge, t_ambient, t_coolant)
        except Exception:
            # The FMI wrapper drops Python tracebacks: put the whole story into the FMU log.
            self.log(f"doStep failed at t = {current_time} s:\n{traceback.format_exc()}", Fmi2Status.error)
            return False
        return True

    def _warn(self, message: str) -> None:
        self.log(message, Fmi2Status.warning)

    # ------------------------------------------------------------------ fast accessors

    def get_real(self, vrs):
        getters = self._getters
        try:
            return [float(getters[vr]()) for vr in vrs]
        except Exception:
            self._fail(f"fmi2GetReal{list(vrs)} failed:\n{traceback.format_exc()}")
            return [float("nan")] * len(vrs)

    def set_real(self, vrs, values):
        setters = self._setters
        try:
            for vr, value in zip(vrs, values):
                setters[vr](value)
        except Exception:
            self.log(f"fmi2SetReal{list(vrs)} failed:\n{traceback.format_exc()}", Fmi2Status.error)

    # ------------------------------------------------------------------ state

    def _get_fmu_state(self):
        inputs = {p.name: getattr(self, p.name) for p in INTERFACE if p.causality != "output"}
        return {"inputs": inputs, "pack": self.pack.get_state()}

    def _set_fmu_state(self, state):
        try:
            for name, value in state["inputs"].items():
                setattr(self, name, value)
            self.pack.set_state(state["pack"])
        except Exception:
            self._fail(f"fmi2SetFMUstate failed: not a state of this FMU:\n{traceback.format_exc()}")

    # ------------------------------------------------------------------ model description

    def to_xml(self, model_options=None):
        """pythonfmu's description plus units (``unit``, ``<UnitDefinitions>``) and ranges (``min``, ``max``)."""
        from battery_fmu.model_description import add_ranges, add_units

        root = super().to_xml(model_options or {})
        add_units(root, {p.name: p.unit for p in INTERFACE})
        add_ranges(root, {p.name: (p.min, p.max) for p in INTERFACE})
        return root


def _bad_step_message(t: float, h: float, slave: BatteryTwin) -> str:
    if not h > 0.0:
        return f"communication step size must be positive, got {h!r}"
    for name in ("P_load", "I_charge", "T_ambient", "T_coolant"):
        value = getattr(slave, name)
        if not isfinite(value):
            return f"input {name} is not finite ({value!r}) at t = {t} s"
    return f"input I_charge must be >= 0 (a charger pushes current in), got {slave.I_charge!r}"


def _output_getter(slave: BatteryTwin, name: str):
    read = attrgetter(f"pack.{PACK_ATTRIBUTE[name]}")
    return lambda: read(slave)

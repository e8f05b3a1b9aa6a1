"""Cell parameter sets: TOML files in ``battery_fmu/params/``, loaded into SI once.

A value is written ``{ value = 220.0, unit = "Ah", source = "..." }`` (or with
``assumption = true``); a table ``{ file = "tables/x.csv", x = "SOC", y = "OCV", unit = "V" }``
with an optional ``scale``; a short table ``{ points = [[x, y], ...], unit = "degC" }``.
Only the units in ``_TO_SI`` are converted; fit constants keep the units of their
published equation (documented beside them). Another cell is another file, no code change.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from battery_fmu.ops import Table1D

PARAMS_DIR = Path(__file__).parent / "params"
DEFAULT_CELL = "lfp_220ah"

# unit -> (factor, offset) to SI. Checked against cosim.si in the tests.
_TO_SI: dict[str, tuple[float, float]] = {
    "Ah": (3600.0, 0.0),
    "mAh": (3.6, 0.0),
    "degC": (1.0, 273.15),
    "mOhm": (1e-3, 0.0),
    "d": (86400.0, 0.0),
    "h": (3600.0, 0.0),
    "min": (60.0, 0.0),
    "kJ/mol": (1e3, 0.0),
    "g": (1e-3, 0.0),
}
# Units whose values are used as written (SI already, or a fit constant's published unit).
_AS_IS = {"1", "s", "A", "V", "Ohm", "K", "kg", "W/K", "J/K", "J/(kg.K)", "J/mol", "V/K", "1/s", "1/h", "K/V",
          "1/V", "1/A.h", "1/(A.h.V^2)"}


class ParameterError(ValueError):
    """A parameter file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class CapacityAgingParameters:
    """Gasper et al. 2023 large-format LFP capacity-fade model (see the parameter file)."""

    p1: float
    p2: float
    p3: float
    pcal: float
    p4: float
    p5: float
    p6: float
    p7: float
    p8: float
    pcyc: float
    anode_x0: float
    anode_x100: float
    cycling_temperature_min: float  # K
    cycling_temperature_max: float  # K
    dod_min: float
    crate_charge_max: float  # 1/h
    crate_discharge_max: float  # 1/h
    chunk_efc: float
    chunk_time: float  # s
    crate_floor: float  # 1/h


@dataclass(frozen=True)
class ResistanceAgingParameters:
    """Naumann et al. 2018/2020 LFP resistance-growth laws."""

    calendar_k: float  # 1/s
    calendar_activation_energy: float  # J/mol
    calendar_soc_c: float
    calendar_soc_d: float
    cycle_a: float  # per (1/h), percent per EFC
    cycle_b: float  # percent per EFC
    cycle_dod_e: float
    cycle_dod_f: float


@dataclass(frozen=True)
class CellParameters:
    """Everything the cell equations need, in SI units (per cell)."""

    name: str
    chemistry: str
    source_file: str
    reference_temperature: float  # K
    capacity: float  # C
    voltage_max: float  # V
    voltage_min: float  # V
    current_max_charge: float  # A
    current_max_discharge: float  # A
    ocv: Table1D  # SOC -> V
    entropic_coefficient: Table1D  # SOC -> V/K
    hysteresis_magnitude: Table1D  # SOC -> V
    hysteresis_rate: float  # 1 (per unit SOC throughput)
    r0_charge: Table1D  # SOC -> Ohm at reference temperature
    r0_discharge: Table1D  # SOC -> Ohm at reference temperature
    r1: float  # Ohm
    tau1: float  # s
    r2: float  # Ohm
    tau2: float  # s
    activation_temperature: float  # K (Ea/R)
    charge_derating: Table1D  # K -> 1
    discharge_derating: Table1D  # K -> 1
    mass: float  # kg
    specific_heat: float  # J/(kg K)
    housing_heat_capacity: float  # J/K
    conductance_cell_housing: float  # W/K
    conductance_housing_ambient: float  # W/K
    conductance_housing_coolant: float  # W/K
    aging: CapacityAgingParameters  # or the dataclass of the chemistry's laws (battery_fmu/aging_laws.py)
    aging_resistance: ResistanceAgingParameters

    @property
    def cell_heat_capacity(self) -> float:
        """m c_p [J/K]."""
        return self.mass * self.specific_heat

    @property
    def capacity_ah(self) -> float:
        """Nominal capacity [A h] (for display only)."""
        return self.capacity / 3600.0


class _Reader:
    """Reads one parameter file, collecting every problem with its key before failing."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ParameterError(f"{path}: parameter file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ParameterError(f"{path}: not valid TOML: {err}") from None
        self.problems: list[str] = []

    def _entry(self, section: str, key: str):
        node = self.doc
        for part in section.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if key not in node:
            self.problems.append(f"{self.path.name}: [{section}] {key}: missing")
            return None
        return node[key]

    def text(self, section: str, key: str) -> str:
        entry = self._entry(section, key)
        return str(entry) if entry is not None else ""

    def value(self, section: str, key: str, positive: bool = False) -> float:
        entry = self._entry(section, key)
        if entry is None:
            return float("nan")
        where = f"{self.path.name}: [{section}] {key}"
        if not isinstance(entry, dict) or "value" not in entry:
            self.problems.append(f"{where}: expected {{ value = ..., unit = ..., source = ... }}, found {entry!r}")
            return float("nan")
        if "source" not in entry:
            self.problems.append(f"{where}: every value needs a `source` (or `assumption = true` with a source)")
        value = entry["value"]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.problems.append(f"{where}: value must be a number, found {value!r}")
            return float("nan")
        si = self._to_si(float(value), entry.get("unit", "1"), where)
        if positive and not si > 0:
            self.problems.append(f"{where}: must be positive, found {value!r}")
        return si

    def _to_si(self, value: float, unit: str, where: str) -> float:
        if unit in _TO_SI:
            factor, offset = _TO_SI[unit]
            return factor * value + offset
        if unit not in _AS_IS:
            self.problems.append(f"{where}: unknown unit {unit!r}; known: {sorted(_AS_IS | set(_TO_SI))}")
        return value

    def table(self, section: str, key: str) -> Table1D:
        entry = self._entry(section, key)
        where = f"{self.path.name}: [{section}] {key}"
        dummy = Table1D(key, (0.0, 1.0), (0.0, 0.0))
        if entry is None:
            return dummy
        if not isinstance(entry, dict) or not ("file" in entry or "points" in entry):
            self.problems.append(f"{where}: expected a table {{ file = ..., x = ..., y = ... }} or {{ points = ... }}")
            return dummy
        if "source" not in entry:
            self.problems.append(f"{where}: every table needs a `source`")
        try:
            if "points" in entry:
                xs = [self._to_si(float(px), entry.get("unit", "1"), where) for px, _ in entry["points"]]
                ys = [float(py) for _, py in entry["points"]]
            else:
                xs, ys = self._csv_columns(entry, where)
                ys = [self._to_si(y * float(entry.get("scale", 1.0)), entry.get("unit", "1"), where) for y in ys]
            return Table1D(f"{key}", tuple(xs), tuple(ys))
        except (OSError, KeyError, ValueError, TypeError) as err:
            self.problems.append(f"{where}: {err}")
            return dummy

    def _csv_columns(self, entry: dict, where: str) -> tuple[list[float], list[float]]:
        file = self.path.parent / entry["file"]
        if not file.exists() and (PARAMS_DIR / entry["file"]).exists():
            file = PARAMS_DIR / entry["file"]  # a set copied out of the package keeps the shipped tables
        with open(file, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        for col in (entry["x"], entry["y"]):
            if rows and col not in rows[0]:
                raise KeyError(f"column {col!r} not in {file.name} (columns: {list(rows[0])})")
        return [float(r[entry["x"]]) for r in rows], [float(r[entry["y"]]) for r in rows]

    def dataclass(self, cls, section: str):
        return cls(**{f.name: self.value(section, f.name) for f in fields(cls)})


def load_parameters(name_or_path: str | Path = DEFAULT_CELL) -> CellParameters:
    """Load a parameter set by name (a file in ``battery_fmu/params/``) or by path.

    Raises :class:`ParameterError` listing every missing or malformed key with its file.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PARAMS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.toml"))
        raise ParameterError(f"parameter set {str(name_or_path)!r} not found (known sets: {known}, or give a .toml path)")
    r = _Reader(path)
    capacity_law, resistance_law = _aging_classes(r)
    params = CellParameters(
        name=r.text("cell", "name"),
        chemistry=r.text("cell", "chemistry"),
        source_file=str(path),
        reference_temperature=r.value("cell", "reference_temperature", positive=True),
        capacity=r.value("cell", "capacity", positive=True),
        voltage_max=r.value("cell", "voltage_max", positive=True),
        voltage_min=r.value("cell", "voltage_min", positive=True),
        current_max_charge=r.value("cell", "current_max_charge", positive=True),
        current_max_discharge=r.value("cell", "current_max_discharge", positive=True),
        ocv=r.table("ocv", "table"),
        entropic_coefficient=r.table("ocv", "entropic_coefficient"),
        hysteresis_magnitude=r.table("hysteresis", "magnitude"),
        hysteresis_rate=r.value("hysteresis", "rate"),
        r0_charge=r.table("resistance", "R0_charge"),
        r0_discharge=r.table("resistance", "R0_discharge"),
        r1=r.value("resistance", "R1", positive=True),
        tau1=r.value("resistance", "tau1", positive=True),
        r2=r.value("resistance", "R2", positive=True),
        tau2=r.value("resistance", "tau2", positive=True),
        activation_temperature=r.value("resistance", "activation_temperature"),
        charge_derating=r.table("limits", "charge_derating"),
        discharge_derating=r.table("limits", "discharge_derating"),
        mass=r.value("thermal", "mass", positive=True),
        specific_heat=r.value("thermal", "specific_heat", positive=True),
        housing_heat_capacity=r.value("thermal", "housing_heat_capacity", positive=True),
        conductance_cell_housing=r.value("thermal", "conductance_cell_housing", positive=True),
        conductance_housing_ambient=r.value("thermal", "conductance_housing_ambient", positive=True),
        conductance_housing_coolant=r.value("thermal", "conductance_housing_coolant", positive=True),
        aging=r.dataclass(capacity_law, "aging.capacity"),
        aging_resistance=r.dataclass(resistance_law, "aging.resistance"),
    )
    if not r.problems and params.voltage_min >= params.voltage_max:
        r.problems.append(f"{path.name}: [cell] voltage_min must be below voltage_max")
    if r.problems:
        raise ParameterError("problems in parameter file:\n" + "\n".join(f"- {p}" for p in r.problems))
    return params


def _aging_classes(r: _Reader) -> tuple[type, type]:
    """The aging-parameter dataclasses of the file's chemistry (LFP's when it names none with laws)."""
    from battery_fmu.aging_laws import LAWS, laws_for

    chemistry = r.text("cell", "chemistry")
    if chemistry not in LAWS:
        if chemistry:
            r.problems.append(f"{r.path.name}: [cell] chemistry: no aging laws for {chemistry!r}; "
                              f"chemistries with laws: {', '.join(LAWS)}")
        chemistry = "LFP"
    laws = laws_for(chemistry)
    return laws.capacity_parameters, laws.resistance_parameters


def load_cell(parameter_set: str | Path = DEFAULT_CELL, capacity_Ah: float | None = None,
              directory: str | Path | None = None) -> CellParameters:
    """The cell every user of a pack's parameters steps: ``parameter_set`` (a name or a ``.toml`` path)
    scaled to ``capacity_Ah`` [A h] when given and different from the set's own capacity.

    ``directory``: where to look for a named set first (an FMU's own ``resources``), before
    :data:`PARAMS_DIR`. The one loader of the twin (FMU and in-process unit) and of its predictors.
    """
    name = str(parameter_set)
    if directory is not None and "/" not in name and not name.endswith(".toml"):
        local = Path(directory) / f"{name}.toml"
        if local.exists():
            parameter_set = local
    params = load_parameters(parameter_set)
    if capacity_Ah is not None and float(capacity_Ah) * 3600.0 != params.capacity:
        params = scaled_to_capacity(params, float(capacity_Ah) * 3600.0)
    return params


def scaled_to_capacity(params: CellParameters, capacity: float) -> CellParameters:
    """The same cell design at another nominal ``capacity`` [C].

    Current ratings, heat capacities and conductances grow with the capacity ratio and
    resistances shrink with it (more of the same electrode area); OCV, hysteresis and the
    aging laws are intensive and stay.
    """
    if not capacity > 0:
        raise ParameterError(f"capacity must be positive, got {capacity / 3600.0!r} Ah")
    k = capacity / params.capacity

    def table(t: Table1D, factor: float) -> Table1D:
        return Table1D(t.name, t.x, tuple(y * factor for y in t.y))

    return replace(
        params,
        capacity=capacity,
        current_max_charge=params.current_max_charge * k,
        current_max_discharge=params.current_max_discharge * k,
        r0_charge=table(params.r0_charge, 1.0 / k),
        r0_discharge=table(params.r0_discharge, 1.0 / k),
        r1=params.r1 / k,
        r2=params.r2 / k,
        mass=params.mass * k,
        housing_heat_capacity=params.housing_heat_capacity * k,
        conductance_cell_housing=params.conductance_cell_housing * k,
        conductance_housing_ambient=params.conductance_housing_ambient * k,
        conductance_housing_coolant=params.conductance_housing_coolant * k,
    )

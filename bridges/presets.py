"""EV presets built from ``data/vehicles/ev_specs.csv``; every value keeps its basis.

A preset is what the built-in EV model needs to know about one car: mass, road load, motor, gearing,
auxiliary load, its battery pack, and the official consumption figure it can be checked against.
Values come from three places, in this order of precedence:

1. ``data/vehicles/preset_fills.csv``: per preset, values that ``ev_specs.csv`` lacks (each labelled
   ``ESTIMATE`` with its reasoning, or with its source), and the choice of road-load model;
2. ``data/vehicles/ev_specs.csv``: the curated table, used unchanged (its ``*_basis`` columns carry over);
3. :data:`GENERIC`: values no source gives for any car (gear ratio, wheel radius, ...), labelled ``ESTIMATE``.

Two rules derive the rest: a preset whose road load comes from the EPA target coefficients is simulated
at the EPA equivalent test weight (the mass those coefficients were set for); the pack capacity in A.h is
the energy divided by the nominal voltage.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from cosim.errors import ScenarioError

#: The battery twin's cell parameter set (battery_fmu/params) that stands for each chemistry word a preset's
#: ``chemistry`` may contain ("LFP (Blade)" is LFP; "LMO-NMC" ages by the NMC laws: there is no LMO law).
CELL_PARAMETER_SETS = {"LFP": "lfp_220ah", "NMC": "nmc_75ah"}

_DATA = files("bridges") / "data" / "vehicles"
LB_TO_KG = 0.45359237
#: EPA loaded-vehicle convention: 300 lb of test load over curb mass.
EPA_TEST_LOAD_KG = 300 * LB_TO_KG

#: Values no source gives per car: (value, basis).
GENERIC: dict[str, tuple[Any, str]] = {
    "payload_kg": (0.0, "simulation mass taken as given"),
    "rotating_mass_factor": (
        0.04,
        "ESTIMATE: wheels, rotor and gears add 3-5 % equivalent mass in single-speed EVs",
    ),
    "air_density_kg_m3": (1.2, "standard air near 20 degC"),
    "gear_ratio": (9.0, "ESTIMATE: generic single-speed reduction (EV reductions span about 8-11:1)"),
    "gear_efficiency": (0.97, "ESTIMATE: single-speed reduction and differential"),
    "wheel_radius_m": (0.33, "ESTIMATE: dynamic radius of an 18-19 in wheel and tyre"),
    "motor_max_rpm": (16000.0, "ESTIMATE: typical top speed of current EV traction motors"),
    "motor_base_speed_ratio": (3.0, "ESTIMATE: max speed / base speed of a field-weakened PMSM"),
    "regen_max_kW": (
        None,
        "ESTIMATE: battery-side regen limit of 1.5 C (1.5/h x pack energy) without a battery unit",
    ),
    "aux_base_W": (250.0, "ESTIMATE: 12 V loads (controllers, pumps, lights, infotainment) while driving"),
    "aux_parked_W": (0.0, "standby draw while parked taken as zero"),
    "hvac_heat_W_per_K": (
        160.0,
        "ESTIMATE: cabin heating about 4 kW at -7 degC, the order of published resistive-heater draws",
    ),
    "hvac_heat_below_degC": (18.0, "ESTIMATE: heating starts below 18 degC ambient"),
    "hvac_cool_W_per_K": (
        100.0,
        "ESTIMATE: air conditioning about 1 kW at 35 degC, the order of published steady A/C draws",
    ),
    "hvac_cool_above_degC": (24.0, "ESTIMATE: cooling starts above 24 degC ambient"),
    "hvac_max_W": (6000.0, "ESTIMATE: largest HVAC draw (resistive heaters of about 6 kW)"),
    "charge_efficiency": (
        0.884,
        "Level 2 AC, wall to battery: 77.702 kWh into the battery for 87.868 kWh from the wall in "
        "Tesla's EPA certification test of a 2021 Model Y Long Range "
        "(Car and Driver, 'EVs Explained: Charging Losses')",
    ),
    "official_method": ("", "no sourced official figure"),
    "beamng_model": ("", "no BeamNG.tech model"),
    "cells_series": (None, "not found"),
    "cells_parallel": (None, "not found"),
}

_FLOAT_FIELDS = {
    "mass_kg",
    "payload_kg",
    "drag_coef",
    "frontal_area_m2",
    "rolling_resist",
    "motor_peak_kW",
    "battery_kWh",
    "nominal_voltage_V",
    "official_Wh_per_km",
    "epa_ETW_lb",
    "epa_target_A_lbf",
    "epa_target_B_lbf_per_mph",
    "epa_target_C_lbf_per_mph2",
    "rotating_mass_factor",
    "air_density_kg_m3",
    "gear_ratio",
    "gear_efficiency",
    "wheel_radius_m",
    "motor_max_rpm",
    "motor_base_speed_ratio",
    "regen_max_kW",
    "aux_base_W",
    "aux_parked_W",
    "hvac_heat_W_per_K",
    "hvac_heat_below_degC",
    "hvac_cool_W_per_K",
    "hvac_cool_above_degC",
    "hvac_max_W",
    "charge_efficiency",
}
_INT_FIELDS = {"cells_series", "cells_parallel"}

# ev_specs.csv column -> preset field, and the column holding its basis.
_CSV_FIELDS = {
    "variant": ("variant", None),
    "mass_kg": ("mass_kg", "mass_basis"),
    "drag_coef": ("drag_coef_Cd", "aero_roll_basis"),
    "frontal_area_m2": ("frontal_area_m2", "aero_roll_basis"),
    "rolling_resist": ("rolling_resist_Crr", "aero_roll_basis"),
    "motor_peak_kW": ("motor_peak_kW", "motor_basis"),
    "battery_kWh": ("battery_kWh", "battery_kWh_basis"),
    "chemistry": ("chemistry", "chemistry_basis"),
    "nominal_voltage_V": ("nominal_voltage_V", "nominal_voltage_basis"),
    "official_Wh_per_km": ("consumption_Wh_per_km", "consumption_basis"),
    "epa_ETW_lb": ("epa_ETW_lb", "epa_roadload_variant"),
    "epa_target_A_lbf": ("epa_target_A_lbf", "epa_roadload_variant"),
    "epa_target_B_lbf_per_mph": ("epa_target_B_lbf_per_mph", "epa_roadload_variant"),
    "epa_target_C_lbf_per_mph2": ("epa_target_C_lbf_per_mph2", "epa_roadload_variant"),
}


@dataclass(frozen=True)
class Preset:
    """One EV, in the units its sources use (named in each field); ``basis`` says where each value is from.

    The EV model converts to SI once (:meth:`bridges.ev_model.VehicleParams.from_preset`).
    """

    id: str
    name: str
    variant: str
    road_load: str  # "epa" (target coefficients A/B/C) or "physics" (Cd, A, Crr)
    mass_kg: float  # simulated mass before payload
    payload_kg: float
    drag_coef: float | None
    frontal_area_m2: float | None
    rolling_resist: float | None
    epa_ETW_lb: float | None
    epa_target_A_lbf: float | None
    epa_target_B_lbf_per_mph: float | None
    epa_target_C_lbf_per_mph2: float | None
    rotating_mass_factor: float
    air_density_kg_m3: float
    motor_peak_kW: float
    motor_max_rpm: float
    motor_base_speed_ratio: float
    gear_ratio: float
    gear_efficiency: float
    wheel_radius_m: float
    regen_max_kW: float
    aux_base_W: float
    aux_parked_W: float
    hvac_heat_W_per_K: float
    hvac_heat_below_degC: float
    hvac_cool_W_per_K: float
    hvac_cool_above_degC: float
    hvac_max_W: float
    charge_efficiency: float
    battery_kWh: float
    chemistry: str
    parameter_set: str  # the battery twin's cell parameter set, whose chemistry picks the aging laws
    nominal_voltage_V: float
    cells_series: int | None
    cells_parallel: int | None
    official_Wh_per_km: float | None
    official_method: str  # "epa" (label, combined), "wltp", or "" when no sourced figure
    beamng_model: str
    basis: MappingProxyType = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)

    @property
    def capacity_Ah(self) -> float:
        """Pack capacity [A.h], derived as energy / nominal voltage."""
        return self.battery_kWh * 1000.0 / self.nominal_voltage_V

    def pack(self) -> dict[str, Any]:
        """The pack as the battery twin's parameters name it, what is known of it: cells in series and in
        parallel, the cell capacity [A h] and the cell parameter set of the preset's chemistry."""
        out: dict[str, Any] = {"parameter_set": self.parameter_set}
        if self.cells_series:
            out["n_series"] = int(self.cells_series)
        if self.cells_parallel:
            out["n_parallel"] = int(self.cells_parallel)
            out["capacity_Ah"] = self.capacity_Ah / int(self.cells_parallel)
        return out

    @property
    def test_mass_kg(self) -> float:
        """Mass the model simulates: mass plus payload [kg]."""
        return self.mass_kg + self.payload_kg

    def summary(self) -> dict[str, Any]:
        """The listing ``evtwin vehicles --json`` prints for this preset."""
        return {
            "id": self.id,
            "name": self.name,
            "variant": self.variant,
            "chemistry": self.chemistry,
            "parameter_set": self.parameter_set,
            "battery_kWh": self.battery_kWh,
            "nominal_voltage_V": self.nominal_voltage_V,
            "cells_series": self.cells_series,
            "cells_parallel": self.cells_parallel,
            "capacity_Ah": round(self.capacity_Ah, 1),
            "mass_kg": round(self.test_mass_kg, 1),
            "motor_peak_kW": self.motor_peak_kW,
            "road_load": self.road_load,
            "official_Wh_per_km": self.official_Wh_per_km if self.official_method else None,
            "official_method": self.official_method or None,
            "beamng_model": self.beamng_model or None,
        }

    def replace(self, **overrides: Any) -> Preset:
        """A copy with some values changed; the basis of each changed value says so.

        Raises
        ------
        ScenarioError
            For a name that is not a preset value, with the closest names.
        """
        editable = {f.name for f in dataclasses.fields(self)} - {"id", "basis"}
        unknown = sorted(set(overrides) - editable)
        if unknown:
            problems = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(editable), n=3)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                problems.append(
                    f"preset {self.id!r} has no value {name!r}{hint} Values: {', '.join(sorted(editable))}"
                )
            raise ScenarioError(problems)
        basis = dict(self.basis)
        converted = {}
        for name, value in overrides.items():
            converted[name] = _convert(name, value, f"override of preset {self.id!r}")
            basis[name] = "set by the user"
        return dataclasses.replace(self, basis=MappingProxyType(basis), **converted)


def _convert(name: str, raw: Any, where: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        if name in _FLOAT_FIELDS:
            return float(raw)
        if name in _INT_FIELDS:
            return int(raw)
    except (TypeError, ValueError):
        kind = "a number" if name in _FLOAT_FIELDS else "an integer"
        raise ScenarioError(f"{where}: {name!r} must be {kind} (got {raw!r})") from None
    return str(raw)


def _read_csv(name: str) -> list[dict[str, str]]:
    with (_DATA / name).open("r", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def _table() -> dict[str, Preset]:
    specs = {row["vehicle"]: row for row in _read_csv("ev_specs.csv")}
    fills: dict[str, dict[str, tuple[str, str]]] = {}
    for row in _read_csv("preset_fills.csv"):
        fills.setdefault(row["preset"], {})[row["field"]] = (row["value"], row["basis"])
    return {pid: _build(pid, fill, specs) for pid, fill in fills.items()}


def _build(pid: str, fill: dict[str, tuple[str, str]], specs: dict[str, dict[str, str]]) -> Preset:
    row = specs[fill["source_row"][0]]
    values: dict[str, Any] = {}
    basis: dict[str, str] = {}
    for name, (value, why) in GENERIC.items():
        values[name], basis[name] = value, why
    for name, (column, basis_column) in _CSV_FIELDS.items():
        if row.get(column, "").strip():
            values[name] = row[column].strip()
            basis[name] = row.get(basis_column, "") if basis_column else "ev_specs.csv"
        else:
            values.setdefault(name, None)
            basis.setdefault(name, "not found (blank in ev_specs.csv)")
    for name, (value, why) in fill.items():
        if name == "source_row":
            continue
        values[name], basis[name] = value, why
    values = {
        k: _convert(k, v, f"preset {pid!r}") if k not in ("name", "variant", "road_load") else v
        for k, v in values.items()
    }
    if values["road_load"] == "epa":
        values["mass_kg"] = values["epa_ETW_lb"] * LB_TO_KG
        basis["mass_kg"] = (
            f"EPA equivalent test weight {values['epa_ETW_lb']:g} lb (test mass the A/B/C were set for)"
        )
        values["payload_kg"], basis["payload_kg"] = (
            0.0,
            "EPA test weight already includes the 300 lb test load",
        )
    if not values.get("parameter_set"):
        values["parameter_set"], basis["parameter_set"] = _cell_for(pid, values["chemistry"])
    if values["regen_max_kW"] is None:
        values["regen_max_kW"] = 1.5 * values["battery_kWh"]
    if not values["official_method"]:
        values["official_Wh_per_km"] = None
    basis["capacity_Ah"] = "derived: battery_kWh / nominal_voltage_V"
    return Preset(id=pid, basis=MappingProxyType(basis), **values)


def _cell_for(pid: str, chemistry: str | None) -> tuple[str, str]:
    """(parameter set, basis) for a preset's chemistry."""
    words = set(re.split(r"[^A-Z0-9]+", str(chemistry or "").upper()))
    for key, cell in CELL_PARAMETER_SETS.items():
        if key in words:
            return cell, f"derived from the chemistry {chemistry!r}: the battery twin's {key} cell"
    raise ScenarioError(f"preset {pid!r}: no battery parameter set for chemistry {chemistry!r}")


def preset_ids() -> list[str]:
    """The ids of all presets, in table order."""
    return list(_table())


def all_presets() -> list[Preset]:
    """All presets, in table order."""
    return list(_table().values())


def get_preset(preset_id: str) -> Preset:
    """The preset with this id (case-insensitive; ``-`` and ``_`` alike).

    Raises
    ------
    ScenarioError
        For an unknown id, with the closest ids and the full list.
    """
    table = _table()
    key = preset_id.strip().lower().replace("-", "_").replace(" ", "_")
    if key in table:
        return table[key]
    for p in table.values():  # also accept a BeamNG.tech model name
        if p.beamng_model and p.beamng_model.lower() == key:
            return p
    close = difflib.get_close_matches(key, list(table), n=3)
    words = [w for w in key.split("_") if w]
    close += [
        p.id
        for p in table.values()
        if p.id not in close
        and words
        and all(w in p.name.lower().replace(" ", "").replace(".", "") for w in words)
    ]
    hint = f"; did you mean {' or '.join(repr(c) for c in close[:4])}?" if close else ""
    raise ScenarioError(
        f"unknown vehicle preset {preset_id!r}{hint} Presets: {', '.join(table)} "
        "(`evtwin vehicles` lists them)"
    )

"""A fleet file, and the vehicles it draws.

A fleet file names distributions (a mapping of choice to weight) over the preset, the climate, the
driving style, the charging habit and the parking, the annual mileage (``blast_lite``: the U.S.
annual-VMT distribution shipped with NREL BLAST-Lite, or a fixed number of km), how many vehicles
and how many years. Vehicle ``i`` is drawn from its own random stream ``(seed, i)``, so it is the
same vehicle whatever the fleet's size and whichever worker runs it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from cosim.errors import ScenarioError

KM_PER_MILE = 1.609344
DAYS_PER_YEAR = 365.0

#: Driving styles: the shipped cycle mix each drives (trips take its cycles in turn) and the regen level.
STYLES: dict[str, dict[str, Any]] = {
    "commute": {"cycle": "commute", "regen_strength": 3},
    "city": {"cycle": "city", "regen_strength": 3},
    "highway": {"cycle": "highway", "regen_strength": 3},
    "aggressive": {"cycle": "aggressive", "regen_strength": 2},
}


class Habit(BaseModel):
    """A charging habit: when and how hard the car is charged."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["plug_in", "timer"] = "plug_in"
    """At home: charge on plugging in (22:00), or on a timer that ends the charge before 06:00."""
    target_soc: float = Field(0.9, gt=0.0, le=1.0)
    power_kW: float = Field(7.4, gt=0.0)
    """Home charger power into the pack."""
    fast_share: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the charging days on a DC fast charger instead of at home."""
    fast_power_kW: float = Field(150.0, gt=0.0)
    fast_target_soc: float = Field(0.8, gt=0.0, le=1.0)


#: Shipped charging habits; a fleet file may add its own under ``habits``.
HABITS: dict[str, Habit] = {
    "plug_in_90": Habit(),
    "timer_80": Habit(mode="timer", target_soc=0.8, power_kW=11.0),
    "always_full": Habit(target_soc=1.0),
    "fast_weekly": Habit(target_soc=0.8, fast_share=0.2),
    "fast_daily": Habit(target_soc=0.8, fast_share=1.0),
}

#: Choice: weight (relative; non-negative, at least one above 0).
Weights = dict[str, Annotated[float, Field(ge=0.0, allow_inf_nan=False)]]


class FleetModel(BaseModel):
    """The fleet file's contents (see ``docs/fleet.md``)."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    description: str = ""
    seed: int = 0
    vehicles: PositiveInt
    years: float = Field(gt=0.0)
    presets: Weights = {"model3_rwd_lfp": 1.0}
    climates: Weights = {"miami": 1.0}
    annual_km: Literal["blast_lite"] | float = "blast_lite"
    styles: Weights = {"commute": 1.0}
    charging: Weights = {"plug_in_90": 1.0}
    habits: dict[str, Habit] = {}
    parking: Weights = {"street": 1.0}
    battery: Literal["fmu", "in_process"] = "in_process"
    """The battery twin in-process (in fleet mode packed with the vehicle: :mod:`fleet.vehicle_pack`) or as
    the exported FMU (extracted once per worker)."""
    fmu: str = "../fmus/BatteryTwin.fmu"
    """The battery FMU, relative to the fleet file (built when missing); every worker must reach it."""
    traces: list[str] = []
    """Vehicles (ids such as ``v00003``) whose full-resolution trace is kept beside their daily summary."""
    resolution: Literal["fleet", "full"] = "fleet"
    """``fleet``: the battery steps 10 s while driving (the vehicle integrates its 1 s cycle inside);
    ``full``: 1 s driving steps, as the shipped scenarios."""

    @field_validator("presets", "climates", "styles", "charging", "parking")
    @classmethod
    def _some_weight(cls, weights: Weights) -> Weights:
        if sum(weights.values()) <= 0:
            raise ValueError("at least one choice with a weight above 0")
        return weights


@dataclass(frozen=True)
class Vehicle:
    """One drawn vehicle: everything its run depends on."""

    vehicle_id: str
    index: int
    preset: str
    chemistry: str
    climate: str
    style: str
    habit: str
    parking: str
    annual_km_drawn: float
    years: float
    charging: dict[str, Any]
    #: Manufacturing variation of the pack (battery-twin parameters): the hidden truth, not for forecasters.
    variation: dict[str, float] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.update({f"habit_{k}": v for k, v in row.pop("charging").items()})
        row.update({f"truth_{k}": v for k, v in row.pop("variation").items()})
        return row


@dataclass(frozen=True)
class Fleet:
    """A checked fleet file: its text, model and vehicles."""

    path: Path
    text: str
    model: FleetModel
    vehicles: list[Vehicle]

    @property
    def vehicle_years(self) -> float:
        return len(self.vehicles) * self.model.years


def annual_vmt_cdf() -> tuple[np.ndarray, np.ndarray]:
    """(annual miles, CDF) of the BLAST-Lite distribution (see ``bridges/data/PROVENANCE.md``)."""
    with (files("bridges") / "data" / "usage" / "annual_vmt_cdf.csv").open(encoding="utf-8-sig") as fh:
        rows = [line.split(",") for line in fh.read().splitlines()[1:] if line.strip()]
    miles = np.array([float(r[0]) for r in rows])
    cdf = np.array([float(r[1]) for r in rows])
    return miles, cdf


def draw_annual_km(u: float) -> float:
    """Annual distance [km] at quantile ``u`` of the BLAST-Lite distribution (linear in the CDF)."""
    miles, cdf = annual_vmt_cdf()
    return float(np.interp(u, cdf, miles)) * KM_PER_MILE


def load(path: str | Path) -> Fleet:
    """Read and check a fleet file and draw its vehicles.

    Raises
    ------
    ScenarioError
        Naming the file, line and key of every problem.
    """
    from cosim.scenario.source import load_yaml, schema_problems

    source = load_yaml(path, "fleet file", "'vehicles' and 'years'")
    try:
        model = FleetModel.model_validate(source.data)
    except ValidationError as err:
        raise ScenarioError(schema_problems(source, FleetModel, err)) from None
    problems = _check_names(model, source)
    if problems:
        raise ScenarioError(problems)
    return Fleet(Path(path), source.text, model, [draw(model, i) for i in range(model.vehicles)])


def _check_names(model: FleetModel, source) -> list[str]:
    from bridges.presets import get_preset
    from fleet.usage import climate_names, parameter_set

    problems = [source.problem(("traces",), f"no vehicle {vid!r} in a fleet of {model.vehicles} "
                               f"(ids run v00000 to v{model.vehicles - 1:05d})")
                for vid in model.traces if vid not in {f"v{i:05d}" for i in range(model.vehicles)}]
    known = {
        "climates": climate_names(),
        "styles": list(STYLES),
        "charging": [*HABITS, *model.habits],
        "parking": ["garage", "street"],
    }
    for key, names in known.items():
        for name in getattr(model, key):
            if name not in names:
                problems.append(source.problem((key, name), f"unknown {key} entry {name!r}; known: {', '.join(names)}"))
    for pid in model.presets:
        try:
            preset = get_preset(pid)
        except ScenarioError as err:
            problems.append(source.problem(("presets", pid), str(err)))
            continue
        if parameter_set(preset) is None:
            problems.append(
                source.problem(
                    ("presets", pid),
                    f"preset {pid!r} is {preset.chemistry}; the battery twin has no aging law for it "
                    "(a fleet never ages it with another chemistry's law)",
                )
            )
    return problems


def _pick(rng: np.random.Generator, weights: Weights) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def draw(model: FleetModel, index: int) -> Vehicle:
    """Vehicle ``index`` of the fleet, from the random stream ``(seed, index)``."""
    from bridges.presets import get_preset

    rng = np.random.default_rng([model.seed, index])
    preset = _pick(rng, model.presets)
    climate = _pick(rng, model.climates)
    style = _pick(rng, model.styles)
    habit = _pick(rng, model.charging)
    parking = _pick(rng, model.parking)
    u = rng.random()
    annual = draw_annual_km(u) if model.annual_km == "blast_lite" else float(model.annual_km)
    charging = {**HABITS, **model.habits}[habit].model_dump()
    variation = draw_variation(rng)  # drawn last, so the draws above do not depend on it
    return Vehicle(
        vehicle_id=f"v{index:05d}",
        index=index,
        preset=preset,
        chemistry=get_preset(preset).chemistry,
        climate=climate,
        style=style,
        habit=habit,
        parking=parking,
        annual_km_drawn=annual,
        years=model.years,
        charging=charging,
        variation=variation,
    )


def draw_variation(rng: np.random.Generator) -> dict[str, float]:
    """The pack's manufacturing variation as battery-twin parameters, from the twin's stated spread.

    Empty where the battery twin has no manufacturing-variation parameters.
    """
    try:
        from battery_fmu import variation
    except ImportError:
        return {}
    return variation.draw(rng).as_parameters()

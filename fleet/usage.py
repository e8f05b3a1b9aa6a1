"""One fleet vehicle as a scenario for the engine: its week of trips and charges, climate and parking.

The week: trips fill up to 14 slots (weekdays 07:30 and 17:30, then Saturday and Sunday 10:00 and
15:00), each slot driving whole passes of the style's cycle mix, so every trip ends at a standstill.
The number of passes a week is the drawn annual distance over the mix's distance, rounded (at least
one); the realised annual distance is recorded beside the drawn one. Each day with a trip ends with
a charge: at home from 22:00 to 06:00 (``plug_in``: at once; ``timer``: to end by 06:00), or, on a
share of the days, one hour on a DC fast charger after the day's last trip.

Parking in a garage: the air around the pack is taken as halfway between outdoors and 18 degC
(an assumption: an attached, unheated garage damps the outdoor swing by about half), in every phase.
Fleet mode's packed vehicle heats a cold-soaked pack while plugged in at home (:data:`PACK_HEAT_TO`), as
EVs with a battery heater do; without it a pack below the cell's charge window takes no charge at all.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fleet.daily import SIGNALS
from fleet.events import signals as event_signals
from fleet.spec import DAYS_PER_YEAR, STYLES, Vehicle
from fleet.vehicle_pack import SIGNALS as PACK_SIGNALS

DAY = 86400.0
WEEK = 7 * DAY
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Trip slots in the order they fill: (day index, start time [s after midnight]).
SLOTS = [(d, 7.5 * 3600) for d in range(5)] + [(d, 17.5 * 3600) for d in range(5)] + [
    (5, 10 * 3600), (6, 10 * 3600), (5, 15 * 3600), (6, 15 * 3600)
]
HOME_START, HOME_HOURS = 22 * 3600, 8.0
FAST_HOURS = 1.0
GARAGE_K = 291.15  # degC 18 as K
GARAGE_WEIGHT = 0.5
#: Macro steps [s] by phase and resolution.
STEPS = {"fleet": {"drive": 10, "charge": 300, "fast": 10, "park": 3600},
         "full": {"drive": 1, "charge": 60, "fast": 10, "park": 3600}}
#: Fleet mode with the in-process battery: vehicle and pack in one unit (:mod:`fleet.vehicle_pack`),
#: the master stepping 10 min while driving and the unit taking the 10 s steps inside.
#: Charging in 900 s steps: under the charger's constant current the pack's states have exact updates,
#: and the charger trims its last step to land on the target SOC.
PACKED_STEPS = {"drive": 600, "charge": 900}
PACKED_SUBSTEP = 10.0
SOC_INIT, T_INIT_DEGC = 0.9, 25.0
#: Plugged in at home, a pack colder than this [K] is heated (10 degC, an assumption): there the charge
#: derating of both parameter sets allows at least 0.3 of their rated current, 0.3-1 C, several times the
#: 0.1-0.2 C of a home charger, so warming further would only spend grid energy.
PACK_HEAT_TO = 283.15
#: The charger unit plugged in during each charging phase.
CHARGERS = {"charge": "charger", "fast": "fast_charger"}


def climate_names() -> list[str]:
    """Climates an ambient profile can name."""
    from cosim import registry, schedule

    if hasattr(registry, "climate_names"):
        return sorted(registry.climate_names())
    return list(schedule.PROFILES)


def parameter_set(preset) -> str | None:
    """The battery twin's cell parameter set for a preset (its aging laws follow its chemistry), or None.

    A preset that names its parameter set gets it; otherwise only LFP packs have one (the LFP cell), so a
    car of another chemistry is never aged with the LFP laws.
    """
    named = getattr(preset, "parameter_set", None) or preset.pack().get("parameter_set")
    if named:
        return named
    return "lfp_220ah" if preset.chemistry.upper().startswith("LFP") else None


def mix(style: str) -> tuple[float, float]:
    """(duration [s], distance [m]) of one pass through the style's cycle mix."""
    from bridges import drive_cycles

    cycles = drive_cycles.resolve(STYLES[style]["cycle"])
    return sum(c.duration for c in cycles), sum(float(c.distance) for c in cycles)


def trips(vehicle: Vehicle) -> list[tuple[int, float, int]]:
    """(day, start [s after midnight], passes) of each trip of the week."""
    _, distance = mix(vehicle.style)
    weekly_km = vehicle.annual_km_drawn * 7.0 / DAYS_PER_YEAR
    passes = max(1, round(weekly_km * 1000.0 / distance))
    per_slot = math.ceil(passes / len(SLOTS))
    out = []
    for day, start in SLOTS:
        n = min(per_slot, passes)
        if n <= 0:
            break
        out.append((day, start, n))
        passes -= n
    return out


def annual_km(vehicle: Vehicle) -> float:
    """Annual distance [km] the week of :func:`trips` drives."""
    _, distance = mix(vehicle.style)
    return sum(n for _, _, n in trips(vehicle)) * distance / 1000.0 * DAYS_PER_YEAR / 7.0


def _clock(seconds: float) -> str:
    m = int(round(seconds / 60.0))
    return f"{m // 60:02d}:{m % 60:02d}"


def week(vehicle: Vehicle) -> dict[str, list[dict[str, Any]]]:
    """The weekly pattern of the schedule: trips, then a charge on each day with a trip."""
    duration, _ = mix(vehicle.style)
    sessions: dict[int, list[tuple[float, str, float]]] = {d: [] for d in range(7)}
    for day, start, n in trips(vehicle):
        sessions[day].append((start, "drive", n * duration))
    days = [d for d in range(7) if sessions[d]]
    n_fast = round(vehicle.charging["fast_share"] * len(days))
    fast_days = {days[round(j * len(days) / n_fast)] for j in range(n_fast)} if n_fast else set()
    for d in days:
        if d in fast_days:
            end = max(s + length for s, _, length in sessions[d])
            start = math.ceil((end + 300.0) / 300.0) * 300.0
            sessions[d].append((start, "fast", FAST_HOURS * 3600))
        else:
            sessions[d].append((HOME_START, "charge", HOME_HOURS * 3600))
    return {
        _DAYS[d]: [{"at": _clock(s), "phase": p, "for": f"{length:g} s"} for s, p, length in sorted(sessions[d])]
        for d in days
    }


#: What the summary rows of a packed vehicle observe.
PACKED_SIGNALS = tuple(f"vehicle.{name}" for name in PACK_SIGNALS if name not in ("T_ambient", "I_charge"))


def scenario(vehicle: Vehicle, battery: str = "fmu", resolution: str = "fleet",
             fmu_path: Path | None = None, packed: bool | None = None) -> dict[str, Any]:
    """The vehicle's scenario (a mapping to write as YAML).

    ``packed``: vehicle and in-process pack as one unit (:mod:`fleet.vehicle_pack`); by default so in
    fleet mode with the in-process battery. ``False`` keeps separate ``vehicle`` and ``battery`` units.
    """
    from bridges.presets import get_preset

    preset = get_preset(vehicle.preset)
    if packed is None:
        packed = battery == "in_process" and resolution == "fleet"
    steps = dict(STEPS[resolution], **(PACKED_STEPS if packed else {}))
    habit = vehicle.charging
    battery_parameters = {"SOC_init": SOC_INIT, "parameter_set": parameter_set(preset), **vehicle.variation}
    ev_settings = {"preset": vehicle.preset, "on_cycle_end": "next", **STYLES[vehicle.style]}
    units: dict[str, Any] = {}
    if packed:
        units["vehicle"] = {"type": "fleet.vehicle_pack:VehiclePack", "settings": {
            "vehicle": ev_settings, "battery": {**battery_parameters, "T_init": T_INIT_DEGC + 273.15},
            "substep": PACKED_SUBSTEP, "heat_to": PACK_HEAT_TO}}
    else:
        battery_unit: dict[str, Any] = {"fmu": str(fmu_path)} if battery == "fmu" else {"type": "battery"}
        battery_unit["shared"] = ["capacity_Ah", "n_series", "n_parallel"]  # the pack, as the preset states it
        battery_unit["parameters"] = {**battery_parameters, "T_init": {"value": T_INIT_DEGC, "unit": "degC"}}
        if steps["drive"] == 1:
            battery_unit["every"] = {"drive": 10}
        units["vehicle"] = {"type": "ev", "settings": ev_settings}
        units["battery"] = battery_unit
    home = {
        "type": "cccv_charger",
        "settings": {"mode": habit["mode"], **({"departure": "06:00"} if habit["mode"] == "timer" else {})},
        "parameters": {"power_limit": habit["power_kW"] * 1000.0, "target_soc": habit["target_soc"]},
        "every": {"drive": 10 // steps["drive"]} if steps["drive"] < 10 else 1,
    }
    units["charger"] = home
    pattern = week(vehicle)
    has_fast = any(s["phase"] == "fast" for day in pattern.values() for s in day)
    if has_fast:
        units["fast_charger"] = {
            "type": "cccv_charger",
            "settings": {"efficiency": 0.95},
            "parameters": {"power_limit": habit["fast_power_kW"] * 1000.0, "current_limit": 500.0,
                           "target_soc": habit["fast_target_soc"]},
        }
        units["charge_sum"] = {"type": "fleet.units:CurrentSum"}
    return {
        "version": 1,
        "description": f"fleet vehicle {vehicle.vehicle_id}: {vehicle.preset}, {vehicle.style} driving, "
        f"{vehicle.habit} charging, {vehicle.parking} parking, {vehicle.climate} climate",
        "experiment": {"start": "0 s", "duration": f"{vehicle.years * DAYS_PER_YEAR:g} d"},
        "units": units,
        "connections": _connections(vehicle, has_fast, "vehicle" if packed else "battery"),
        "schedule": {
            "phases": {name: {"step": f"{h} s"} for name, h in steps.items() if has_fast or name != "fast"},
            "default": "park",
            "weekly": pattern,
            "ambient": {"profile": vehicle.climate},
        },
        # the signals the daily summary and its event counts read, observed through summary rows
        "summary": [{"label": sig, "signal": sig, "reduce": "final"}
                    for sig in (*(PACKED_SIGNALS if packed else (*SIGNALS, "vehicle.speed")),
                                *event_signals([c for p, c in CHARGERS.items() if p != "fast" or has_fast]))],
    }


def _connections(vehicle: Vehicle, has_fast: bool, battery: str) -> list[dict[str, Any]]:
    """The wiring; ``battery`` names the unit with the pack's ports (``vehicle`` when they are one unit)."""
    air: dict[str, Any] = {}
    if vehicle.parking == "garage":
        air = {"gain": 1.0 - GARAGE_WEIGHT, "offset": GARAGE_WEIGHT * GARAGE_K}
    out = [
        {"from": "schedule.drive", "to": "vehicle.drive"},
        {"from": "schedule.T_ambient", "to": "vehicle.T_ambient"},
    ]
    if battery == "vehicle":
        out += [{"from": "schedule.T_ambient", "to": "vehicle.T_air_pack", **air},
                {"from": "schedule.charge", "to": "vehicle.plugged"}]  # heats a cold pack at home
    else:
        out += [
            {"from": "vehicle.P_battery", "to": "battery.P_load", "transfer": "mean"},
            {"from": "battery.P_charge_max", "to": "vehicle.P_charge_max", "delay": 1},
            {"from": "battery.P_discharge_max", "to": "vehicle.P_discharge_max", "delay": 1},
            {"from": "schedule.T_ambient", "to": "battery.T_ambient", **air},
            {"from": "schedule.T_ambient", "to": "battery.T_coolant", **air},
        ]
    for phase, unit in CHARGERS.items():
        if phase == "fast" and not has_fast:
            continue
        out += [
            {"from": f"schedule.{phase}", "to": f"{unit}.plugged"},
            {"from": f"{battery}.SOC", "to": f"{unit}.SOC", "delay": 1},
            {"from": f"{battery}.V_terminal", "to": f"{unit}.V_terminal", "delay": 1},
            {"from": f"{battery}.I_charge_max", "to": f"{unit}.I_charge_max", "delay": 1},
        ]
    if has_fast:
        out += [
            {"from": "charger.I_charge", "to": "charge_sum.a"},
            {"from": "fast_charger.I_charge", "to": "charge_sum.b"},
            {"from": "charge_sum.total", "to": f"{battery}.I_charge"},
        ]
    else:
        out.append({"from": "charger.I_charge", "to": f"{battery}.I_charge"})
    return out


def fleet_mode(doc: dict[str, Any], drive_step: float = 10.0, charge_step: float = 300.0) -> dict[str, Any]:
    """A scenario (as a mapping) at fleet resolution: ``drive`` and ``charge`` macro steps of ``drive_step``
    and ``charge_step`` [s] (where they were shorter).

    The vehicle integrates its 1 s cycle inside each step and hands over the step's mean power; under
    a charger's constant current the battery's states have exact updates, and the charger trims its
    last step to land on the target SOC; so every unit keeps its equations. Units that stepped every
    n steps of a phase step every ``n * old / new`` (at least every one).
    """
    from cosim.scenario.model import to_unit

    phases = doc["schedule"]["phases"]
    for phase, step in (("drive", drive_step), ("charge", charge_step)):
        if phase not in phases:
            continue
        old = to_unit(phases[phase]["step"], "s")
        if old >= step:
            continue
        phases[phase]["step"] = f"{step:g} s"
        for unit in doc["units"].values():
            every = unit.get("every")
            if isinstance(every, dict) and phase in every:
                every[phase] = max(1, round(every[phase] * old / step))
    return doc

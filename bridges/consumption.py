"""Energy consumption of a preset on a cycle, at the battery and at the wall, by stepping the EV unit.

How official figures are compared (like with like):

- **EPA label** (``method="epa"``): the label is the 55/45 city/highway combination of the UDDS and HWFET
  results at the wall, divided by 0.7 (EPA's derived 5-cycle adjustment factor for electric vehicles).
  Consumptions per distance combine linearly (a 55/45 harmonic mean of MPGe).
- **WLTP** (``method="wltp"``): the WLTC class 3b result at the wall, unadjusted.

At the wall = battery energy / charging efficiency (the preset's ``charge_efficiency``, AC Level 2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bridges.vehicle_unit import EVUnit, cycle_duration

#: EPA derived 5-cycle adjustment factor for electric vehicles (label = 2-cycle result / 0.7).
EPA_ADJUSTMENT = 0.7
#: EPA city/highway weights of the combined figure.
EPA_CITY_WEIGHT = 0.55


@dataclass(frozen=True)
class DriveResult:
    """What one drive of a cycle (or a mix, each cycle once) used."""

    vehicle: str
    cycle: str
    distance_km: float
    duration_s: float
    battery_kWh: float  # net energy drawn from the battery
    wall_kWh: float  # that energy at the wall
    regen_kWh: float  # returned by the motor to the DC bus
    aux_kWh: float
    losses_kWh: float  # motor, inverter and gear
    brake_kWh: float  # friction brakes
    charge_efficiency: float
    over_limit_s: float  # time the motor could not deliver the trace's demand

    @property
    def wh_per_km_battery(self) -> float:
        return 1000.0 * self.battery_kWh / self.distance_km

    @property
    def wh_per_km_wall(self) -> float:
        return 1000.0 * self.wall_kWh / self.distance_km

    def as_dict(self) -> dict:
        d = asdict(self)
        d["wh_per_km_battery"] = self.wh_per_km_battery
        d["wh_per_km_wall"] = self.wh_per_km_wall
        return d


def drive(
    preset: str,
    cycle: str,
    regen_strength: float = 3,
    ambient: float = 296.15,
    p_charge_max: float | None = None,
    **overrides,
) -> DriveResult:
    """Drive ``cycle`` (every cycle of a mix, once, in order) with 1 s steps and sum the unit's outputs.

    Parameters
    ----------
    preset, cycle : str
        Preset id; cycle name, mix or CSV path.
    regen_strength : float
        1-5.
    ambient : float
        Ambient temperature [K].
    p_charge_max : float, optional
        Charge power the battery accepts [W]; the preset's regen limit by default.
    """
    unit = EVUnit(preset=preset, cycle=cycle, regen_strength=regen_strength, on_cycle_end="next", **overrides)
    unit.bind(["T_ambient", "drive"] + (["P_charge_max"] if p_charge_max is not None else []), [])
    unit.setup(0.0)
    unit.set_inputs([ambient, 1.0] + ([p_charge_max] if p_charge_max is not None else []))
    duration = cycle_duration(unit)
    n = int(round(duration))
    sums = dict.fromkeys(("battery", "regen", "aux", "loss", "brake"), 0.0)
    for k in range(n):
        unit.do_step(float(k), 1.0)
        sums["battery"] += unit.P_battery
        sums["regen"] += unit.P_regen
        sums["aux"] += unit.P_aux
        sums["loss"] += unit.P_loss
        sums["brake"] += unit.P_brake
    rest = duration - n
    if rest > 1e-9:
        unit.do_step(float(n), rest)
        for key, port in (
            ("battery", "P_battery"),
            ("regen", "P_regen"),
            ("aux", "P_aux"),
            ("loss", "P_loss"),
            ("brake", "P_brake"),
        ):
            sums[key] += getattr(unit, port) * rest
    j_to_kwh = 1.0 / 3.6e6
    eta = unit.params.charge_efficiency
    return DriveResult(
        vehicle=unit.preset.id,
        cycle=cycle,
        distance_km=unit.distance / 1000.0,
        duration_s=duration,
        battery_kWh=sums["battery"] * j_to_kwh,
        wall_kWh=sums["battery"] * j_to_kwh / eta,
        regen_kWh=sums["regen"] * j_to_kwh,
        aux_kWh=sums["aux"] * j_to_kwh,
        losses_kWh=sums["loss"] * j_to_kwh,
        brake_kWh=sums["brake"] * j_to_kwh,
        charge_efficiency=eta,
        over_limit_s=unit.over_limit_time,
    )


@dataclass(frozen=True)
class OfficialComparison:
    """A simulated figure set beside the official one, made the same way."""

    vehicle: str
    method: str  # "epa" or "wltp"
    simulated_Wh_per_km: float
    official_Wh_per_km: float | None
    parts: dict  # the cycle results it is made of

    @property
    def deviation(self) -> float | None:
        """(simulated - official) / official, or None without an official figure."""
        if not self.official_Wh_per_km:
            return None
        return self.simulated_Wh_per_km / self.official_Wh_per_km - 1.0


def epa_label(preset: str, **kwargs) -> OfficialComparison:
    """The EPA label consumption [Wh/km at the wall]: (0.55 UDDS + 0.45 HWFET at the wall) / 0.7."""
    from bridges.presets import get_preset

    city = drive(preset, "udds", **kwargs)
    hwy = drive(preset, "hwfet", **kwargs)
    two_cycle = EPA_CITY_WEIGHT * city.wh_per_km_wall + (1 - EPA_CITY_WEIGHT) * hwy.wh_per_km_wall
    p = get_preset(preset)
    official = p.official_Wh_per_km if p.official_method == "epa" else None
    return OfficialComparison(p.id, "epa", two_cycle / EPA_ADJUSTMENT, official, {"udds": city, "hwfet": hwy})


def wltp(preset: str, **kwargs) -> OfficialComparison:
    """The WLTP consumption [Wh/km at the wall]: the WLTC class 3b result at the wall, unadjusted."""
    from bridges.presets import get_preset

    result = drive(preset, "wltc_3b", **kwargs)
    p = get_preset(preset)
    official = p.official_Wh_per_km if p.official_method == "wltp" else None
    return OfficialComparison(p.id, "wltp", result.wh_per_km_wall, official, {"wltc_3b": result})


def official_comparison(preset: str, **kwargs) -> OfficialComparison:
    """The comparison the preset's official figure calls for (EPA label or WLTP); EPA when it has none."""
    from bridges.presets import get_preset

    return (
        wltp(preset, **kwargs)
        if get_preset(preset).official_method == "wltp"
        else epa_label(preset, **kwargs)
    )

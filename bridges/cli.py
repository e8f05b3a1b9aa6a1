"""``evtwin vehicles`` and ``evtwin drive``: the presets, and their consumption on a drive cycle.

Contributed to the ``evtwin`` command line through the ``evtwin.commands`` entry-point group.
"""

from __future__ import annotations

import json

import click

from cosim.cli_types import Bounded


@click.command("vehicles")
@click.argument("preset", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: a list of presets (or one preset with its bases)."
)
def vehicles(preset: str | None, as_json: bool) -> None:
    """List the EV presets, or show every value of PRESET with its basis."""
    from bridges.presets import all_presets, get_preset

    if preset:
        p = get_preset(preset)
        values = {k: v for k, v in vars(p).items() if k != "basis"}
        values["capacity_Ah"] = p.capacity_Ah
        if as_json:
            click.echo(json.dumps({"id": p.id, "values": values, "basis": dict(p.basis)}, indent=2))
            return
        _show_preset(values, dict(p.basis), p.name)
        return
    rows = [p.summary() for p in all_presets()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="EV presets (evtwin vehicles PRESET shows every value with its basis)")
    for col in (
        "id",
        "name",
        "chemistry",
        "kWh",
        "pack",
        "mass kg",
        "motor kW",
        "road load",
        "official Wh/km",
    ):
        table.add_column(col)
    for r in rows:
        pack = f"{r['cells_series']}s{r['cells_parallel']}p" if r["cells_series"] else "?"
        official = f"{r['official_Wh_per_km']:g} ({r['official_method']})" if r["official_Wh_per_km"] else "-"
        table.add_row(
            r["id"],
            r["name"],
            r["chemistry"],
            f"{r['battery_kWh']:g}",
            pack,
            f"{r['mass_kg']:.0f}",
            f"{r['motor_peak_kW']:g}",
            r["road_load"],
            official,
        )
    Console().print(table)


def _show_preset(values: dict, basis: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("value")
    table.add_column("")
    table.add_column("basis")
    for name, value in values.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(name, shown, basis.get(name, ""))
    Console().print(table)


@click.command("drive")
@click.argument("vehicle")
@click.argument("cycle")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--regen-strength",
    type=click.FloatRange(1, 5),
    default=3,
    show_default=True,
    help="Regenerative braking level, 1 (weakest) to 5.",
)
@click.option(
    "--ambient-degC",
    "ambient_degc",
    type=Bounded(-90.0, 60.0, "degC", "an air temperature: the records are -89.2 and 56.7 degC"),
    default=23.0,
    show_default=True,
    help="Ambient temperature (drives the HVAC load).",
)
@click.option(
    "--charge-limit-kW",
    "charge_limit_kw",
    type=Bounded(0.0, None, "kW"),
    default=None,
    help="Charge power the battery accepts (caps regen); the preset's regen limit by default.",
)
def drive(
    vehicle: str,
    cycle: str,
    as_json: bool,
    regen_strength: float,
    ambient_degc: float,
    charge_limit_kw: float | None,
) -> None:
    """Consumption of VEHICLE (a preset id) on CYCLE.

    CYCLE is a cycle (udds, hwfet, us06, wltc_3b, nedc, ...), a mix (city, highway, aggressive, commute;
    each cycle driven once), a CSV file, or `epa`: the EPA label procedure (UDDS and HWFET at the wall,
    weighted 55/45, divided by 0.7).
    """
    from bridges import consumption

    kwargs = dict(
        regen_strength=regen_strength,
        ambient=ambient_degc + 273.15,
        p_charge_max=None if charge_limit_kw is None else charge_limit_kw * 1e3,
    )
    if cycle.lower() == "epa":
        comparison = consumption.epa_label(vehicle, **kwargs)
        city, hwy = comparison.parts["udds"], comparison.parts["hwfet"]
        w = consumption.EPA_CITY_WEIGHT
        out = {
            "vehicle": comparison.vehicle,
            "cycle": "epa",
            "wh_per_km_battery": w * city.wh_per_km_battery + (1 - w) * hwy.wh_per_km_battery,
            "wh_per_km_wall": w * city.wh_per_km_wall + (1 - w) * hwy.wh_per_km_wall,
            "distance_km": city.distance_km + hwy.distance_km,
            "regen_kWh": city.regen_kWh + hwy.regen_kWh,
            "charge_efficiency": city.charge_efficiency,
            "epa_label_Wh_per_km": comparison.simulated_Wh_per_km,
            "official_Wh_per_km": comparison.official_Wh_per_km,
            "deviation": comparison.deviation,
            "parts": {k: v.as_dict() for k, v in comparison.parts.items()},
        }
    else:
        result = consumption.drive(vehicle, cycle, **kwargs)
        out = result.as_dict()
        from bridges.presets import get_preset

        p = get_preset(vehicle)
        if p.official_method == "wltp" and cycle.lower() in ("wltc_3b", "wltc", "wltp"):
            out["official_Wh_per_km"] = p.official_Wh_per_km
            out["deviation"] = result.wh_per_km_wall / p.official_Wh_per_km - 1
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    _print_drive(out)


def _print_drive(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{out['vehicle']} on {out['cycle']}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("distance", f"{out['distance_km']:.3f} km")
    table.add_row("at the battery", f"{out['wh_per_km_battery']:.1f} Wh/km")
    table.add_row(
        "at the wall",
        f"{out['wh_per_km_wall']:.1f} Wh/km "
        f"(charging losses: efficiency {100 * out['charge_efficiency']:.1f} %, Level 2 AC)",
    )
    table.add_row("regenerated", f"{out['regen_kWh']:.3f} kWh")
    if "epa_label_Wh_per_km" in out:
        table.add_row(
            "EPA label estimate", f"{out['epa_label_Wh_per_km']:.1f} Wh/km (55/45 UDDS/HWFET wall / 0.7)"
        )
    if out.get("official_Wh_per_km"):
        table.add_row(
            "official figure", f"{out['official_Wh_per_km']:.1f} Wh/km ({100 * out['deviation']:+.1f} %)"
        )
    if out.get("over_limit_s"):
        table.add_row("motor over its limit", f"{out['over_limit_s']:.0f} s of the trace")
    Console().print(table)

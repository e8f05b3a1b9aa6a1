"""Battery-twin commands: ``evtwin life`` and ``evtwin fmu build|demo``.

Heavy imports happen inside the commands so ``evtwin --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from battery_fmu.life import MAX_YEARS
from cosim.cli_types import Bounded
from cosim.errors import EvtwinError


class BatteryCommandError(EvtwinError):
    """Bad input to a battery command (a profile, a parameter set, an FMU)."""


@click.command()
@click.argument("profile")
@click.option("--years", required=True, help="Simulated years (365 d).",
              type=Bounded(0.0, MAX_YEARS, "yr", "a battery's life: the model projects at most 100 years",
                           low_open=True))
@click.option("--cell", default="lfp_220ah", show_default=True, help="Parameter set name or .toml path.")
@click.option("--constant-soc-window", is_flag=True,
              help="Keep the profile's SOC swing as the cell fades (default: conserve energy per cycle).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def life(profile: str, years: float, cell: str, constant_soc_window: bool, as_json: bool) -> None:
    """Run the aging model alone on PROFILE (CSV: time_s,soc,temperature_degC), repeated for --years.

    PROFILE may also name a shipped profile, e.g. personal_ev_smallbatt_week.
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from battery_fmu.life import ProfileError, read_profile, simulate_life
    from battery_fmu.parameters import ParameterError, load_parameters

    try:
        prof = read_profile(profile)
        params = load_parameters(cell)
    except (ProfileError, ParameterError) as err:
        raise BatteryCommandError(str(err)) from None
    err_console = Console(stderr=True)
    with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task("aging", total=1.0)
        result = simulate_life(prof, years, params, conserve_energy=not constant_soc_window,
                               progress=lambda f: bar.update(task, completed=f))
    for message in result.warnings:
        click.echo(f"warning: {message}", err=True)  # one line each, unwrapped, for logs and grep
    if as_json:
        out = result.to_json() | {"profile": prof.source, "cell": params.name, "years_simulated": years}
        click.echo(json.dumps(out, indent=2))
        return
    table = Table(title=f"{params.name} on {Path(prof.source).name}, {years:g} years")
    for col in ("year", "capacity [%]", "resistance [%]", "EFC"):
        table.add_column(col, justify="right")
    for y, q, r, n in zip(result.years, result.capacity, result.resistance, result.efc):
        table.add_row(f"{y:g}", f"{100 * q:.2f}", f"{100 * r:.2f}", f"{n:.0f}")
    Console().print(table)


@click.group()
def fmu() -> None:
    """Build and try the battery FMU (BatteryTwin.fmu)."""


@fmu.command("build")
@click.option("--out", "out_dir", default="fmus", show_default=True, type=click.Path(file_okay=False))
@click.option("--fmi3", is_flag=True, help="Build BatteryTwin3.fmu instead: the twin as FMI 3.0 (pythonfmu3).")
@click.option("--native", is_flag=True,
              help="Build BatteryTwinNative.fmu instead: C only, no Python needed by the host (CasADi C code "
                   "of the twin's step, for one parameter set and cell capacity).")
@click.option("--parameter-set", default="lfp_220ah", show_default=True,
              help="With --native: the cell parameter set generated into the FMU.")
@click.option("--capacity-Ah", "capacity_ah", type=float, default=None,
              help="With --native: the cell capacity [A h] generated into the FMU, its capacity_Ah start "
                   "value (default: the set's own; the FMU takes any other at run time).")
def fmu_build(out_dir: str, fmi3: bool, native: bool, parameter_set: str, capacity_ah: float | None) -> None:
    """Build BatteryTwin.fmu (FMI 2.0 co-simulation) and check it with fmpy's validator.

    --fmi3 builds BatteryTwin3.fmu (FMI 3.0), --native BatteryTwinNative.fmu (C, no Python).
    """
    from fmpy.validation import validate_fmu

    from battery_fmu.build import build_fmu

    if native:
        from battery_fmu.native.build import NativeBuildError, build_native
        from battery_fmu.parameters import ParameterError

        try:
            path = build_native(out_dir, parameter_set, capacity_ah)
        except (NativeBuildError, ParameterError, ValueError) as err:
            raise BatteryCommandError(str(err)) from None
    elif fmi3:
        from battery_fmu.build_fmi3 import build_fmu3

        path = build_fmu3(out_dir)
    else:
        path = build_fmu(out_dir)
    problems = validate_fmu(str(path))
    if problems:
        raise BatteryCommandError(f"{path} was built but fails validation:\n" + "\n".join(problems))
    click.echo(f"built {path} (fmpy validate: no problems)")


@fmu.command("demo")
@click.argument("profile", required=False, default="demo_day")
@click.option("--fmu", "fmu_path", default=None,
              help="FMU to run [default: fmus/BatteryTwin.fmu, built if missing].")
@click.option("--soc-init", type=Bounded(0.0, 1.0, why="a state of charge"), default=0.8, show_default=True,
              help="Initial SOC [1].")
def fmu_demo(profile: str, fmu_path: str | None, soc_init: float) -> None:
    """Run the battery FMU through fmpy.simulate_fmu on a pack-power profile and print a summary.

    PROFILE: CSV with time_s,P_load_W,I_charge_A,T_ambient_degC (default: the shipped demo day).
    """
    from battery_fmu.demo import run_demo
    from cosim.fmu import read_description

    path = Path(fmu_path or "fmus/BatteryTwin.fmu")
    if fmu_path is not None:  # a file the user names must be an FMU; the default one is built when missing
        read_description(path)  # raises FMUFileError (an EvtwinError: one line, exit 2) saying what is wrong
    try:
        summary = run_demo(profile, path, soc_init)
    except ValueError as err:
        raise BatteryCommandError(str(err)) from None
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"BatteryTwin.fmu on {summary.pop('profile')}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, value)
    Console().print(table)
    sys.stdout.flush()

"""``evtwin ssp``: SSP 1.0 packages (running one is ``evtwin run system.ssp``)."""

from __future__ import annotations

from pathlib import Path

import click

from cosim.cli_types import output_file


@click.group("ssp")
def ssp() -> None:
    """SSP 1.0 (System Structure and Parameterization) packages: `evtwin run system.ssp` runs one."""


@ssp.command("export")
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    callback=output_file,
    help="The .ssp file to write.",
)
def export(scenario_file: Path, output: Path) -> None:
    """Write the FMU part of SCENARIO_FILE as an SSP: its FMUs, their connections and parameters.

    Other units are left out (a constant feeding an FMU input becomes that input's value); what SSP
    cannot say (delays, mean transfer, step multiples) is listed as a note.
    """
    from cosim import scenario
    from cosim.ssp.writer import export_ssp

    plan = scenario.check(scenario_file, say=lambda s: click.echo(s, err=True))
    for note in export_ssp(plan, output):
        click.echo(f"note: {note}", err=True)
    click.echo(str(output))

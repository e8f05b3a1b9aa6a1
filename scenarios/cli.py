"""``evtwin scenarios``: list the shipped scenarios and experiments, copy one into a folder."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("scenarios", invoke_without_command=True)
@click.pass_context
def scenarios(ctx: click.Context) -> None:
    """The scenario and experiment files that ship with evtwin (list; `copy NAME DIR`)."""
    if ctx.invoked_subcommand is None:
        _list()


def _list() -> None:
    from rich.console import Console
    from rich.table import Table

    import scenarios as shipped

    table = Table(title="shipped scenarios (evtwin scenarios copy NAME DIR)")
    for column in ("name", "kind"):
        table.add_column(column, no_wrap=True)
    table.add_column("description", overflow="fold")
    for item in shipped.shipped():
        table.add_row(item.name, item.kind, item.description)
    Console().print(table)


@scenarios.command("copy")
@click.argument("name")
@click.argument("dest", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace files that exist in DEST.")
def copy(name: str, dest: Path, force: bool) -> None:
    """Copy the shipped scenario NAME (and the files it needs) into DEST (default: the current folder)."""
    import scenarios as shipped

    written = shipped.copy(name, dest, force=force)
    for target in written:
        click.echo(f"wrote {target}")
    first = written[0]
    command = "experiment charging" if shipped._read(first).kind == "experiment" else "run"
    click.echo(f"run it: evtwin {command} {first}  (FMUs are built into {first.parent / 'fmus'} when missing)")

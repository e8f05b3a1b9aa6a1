"""The engine's commands: ``run``, ``validate``, ``schema``, ``export``, ``plot``.

Each imports what it needs inside the function, so ``evtwin --help`` stays instant.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from cosim.cli_types import output_file, output_folder
from cosim.errors import EvtwinError, ScenarioError


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from cosim.scenario.model import to_unit

    try:
        value = to_unit(text.strip(), "s") if not _is_number(text) else float(text)
    except ValueError as err:
        raise click.BadParameter(f"{text!r}: {err}") from None
    if not (value > 0 and math.isfinite(value)):
        raise click.BadParameter(f"{text!r}: the duration must be > 0 and finite (found {value:g} s)")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _show_warnings() -> None:
    """Print warnings as one ``warning: ...`` line on stderr, without source lines."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show


def _span(seconds: float) -> str:
    """``90 s``, ``2.5 h``, ``365 d``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.4g} {unit}"
    return f"{seconds:.4g} s"


def _fmt(value: float) -> str:
    if value != value:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1e5 or (0 < magnitude < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.4g}" if magnitude >= 1000 else f"{value:.4g}"


@click.command("run")
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=output_file,
    help="Result file (HDF5). Default: the scenario's outputs.file or results/<name>.h5.",
)
@click.option(
    "--duration",
    default=None,
    metavar="D",
    help="Simulate D instead of the scenario's duration: seconds, or '2 h', '7 d'.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary table.")
@click.option(
    "--force",
    is_flag=True,
    help="Run what the checks refuse as likely a mistake (more than 1e9 macro steps), and overwrite "
    "an output that is an existing file but not an evtwin result.",
)
@click.option(
    "--parameter-set",
    default=None,
    metavar="NAME",
    help="Of an SSP (SCENARIO_FILE.ssp, or the scenario's from_ssp): apply its parameter set NAME "
    "instead of every set in order.",
)
@click.option(
    "--realtime",
    type=float,
    default=None,
    metavar="FACTOR",
    help="Pace the run to the wall clock: FACTOR simulated seconds per second (1 = real time, for a "
    "live simulator or hardware in the loop); steps that finish late are counted in the summary "
    "and the file.",
)
def run(
    scenario_file: Path,
    output: Path | None,
    duration: str | None,
    quiet: bool,
    force: bool,
    parameter_set: str | None,
    realtime: float | None,
) -> None:
    """Run SCENARIO_FILE (a scenario, or an SSP 1.0 package, .ssp) and write its results to HDF5.

    The run never starts on an invalid file. When a unit fails or the run is interrupted
    (Ctrl-C, SIGTERM, SIGHUP), the result file is still readable and the command exits non-zero
    naming it. Rows are flushed to the file as the run goes: `evtwin plot` and `export` read it
    while it runs, and a killed run leaves every row up to its last flush.
    """
    from rich.console import Console

    from cosim import scenario
    from cosim.scenario import RunInterrupted

    _show_warnings()
    span = _duration(duration)
    err = Console(stderr=True)
    say = lambda s: click.echo(s, err=True)  # noqa: E731
    plan = scenario.check(scenario_file, say=say, duration=span, force=force, parameter_set=parameter_set)
    for note in plan.notes:
        click.echo(f"warning: {note}", err=True)
    total = plan.duration if span is None else span
    if realtime is not None and not realtime > 0:
        raise click.BadParameter(f"must be > 0 (got {realtime:g})", param_hint="--realtime")
    try:
        if quiet or not err.is_terminal:
            report = scenario.run_plan(plan, output=output, duration=span, force=force, realtime=realtime)
        else:
            report = _run_with_bar(plan, output, span, total, err, force, realtime)
    except RunInterrupted as stop:
        if stop.report is not None and not quiet and stop.path is not None:
            _print_summary(stop.report, plan, title="summary of what ran (interrupted)")
        click.echo(f"interrupted: {str(stop).partition('; ')[2]}", err=True)
        sys.exit(128 + int(stop.signum))
    if not quiet:
        _print_summary(report, plan)


def _run_with_bar(plan, output, span, total, console, force, realtime=None):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from cosim import scenario

    columns = (
        TextColumn("[bold]simulating"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("run", total=total)
        start = plan.start
        return scenario.run_plan(
            plan,
            output=output,
            duration=span,
            progress=lambda t: bar.update(task, completed=t - start),
            force=force,
            realtime=realtime,
        )


def _print_summary(report, plan, title: str = "summary") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{plan.source.path.name}: {title}", show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for label, value, unit in report.summary:
        table.add_row(label, _fmt(value), unit)
    stats = report.stats
    table.add_row("simulated time", _span(stats.end - stats.start), "")
    table.add_row("macro steps", f"{stats.steps:,}", "")
    if stats.events:
        table.add_row("events", str(len(stats.events)), "")
    table.add_row("wall time", f"{stats.wall_time:.3g}", "s")
    table.add_row("real-time factor", _fmt(stats.real_time_factor), "x")
    paced = getattr(report, "realtime", None)
    if paced is not None:
        table.add_row(f"steps late (paced at {_fmt(paced['factor'])}x)", f"{paced['overruns']:,}", "")
        table.add_row("max lateness", _fmt(paced["max_lateness_s"]), "s")
        table.add_row("total lateness", _fmt(paced["total_lateness_s"]), "s")
    Console().print(table)
    click.echo(f"results: {report.path}")


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES without running them: schema, FMU files, names, units, ranges, connections.

    Also checks what a run would cost (refusing more than 1e9 macro steps, warning about hours of
    wall time or gigabytes of results) and prints the warnings the run would print. Other files
    that packages teach it (charging experiments) are recognised by their content.

    Exits 0 with a one-line summary per file, or 2 with every problem found
    (file:line key: what was found, what was expected).
    """
    _show_warnings()
    failed = False
    for path in files:
        try:
            summary, notes = _check_file(path)
        except ScenarioError as err:
            failed = True
            n = len(err.problems)
            click.echo(f"{path}: {n} problem{'s' if n != 1 else ''}", err=True)
            for p in err.problems:
                click.echo(f"  - {p}", err=True)
            continue
        for note in notes:
            click.echo(f"warning: {note}", err=True)
        click.echo(f"ok: {path} ({summary})")
    if failed:
        sys.exit(2)


def _check_file(path: Path) -> tuple[str, list[str]]:
    """``(summary, warnings)`` of a scenario file, or of another kind of file a package registered."""
    from cosim import registry, scenario
    from cosim.scenario.source import load_yaml

    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder; give scenario files (e.g. {path}/*.yaml)")
    data = load_yaml(path).data
    for kind in registry.file_kinds().values():
        if kind.claims(data):
            return kind.check(path, say=lambda s: click.echo(s, err=True))
    plan = scenario.check(path, say=lambda s: click.echo(s, err=True))
    units = [n for n in plan.units if n != "schedule"]
    sched = ""
    if plan.schedule is not None:
        kind = "weekly" if plan.schedule.period > 86400 else "daily"
        sched = f", {kind} schedule ({', '.join(plan.schedule.phases)})"
    recorded = sum(len(g.signals) for g in plan.groups)
    # Inputs are relative to the scenario file, the result to the current folder.
    out = plan.model.outputs.file or Path("results") / f"{path.stem}.h5"
    summary = (
        f"{len(units)} units, {len(plan.connections)} connections{sched}, {_span(plan.duration)}, "
        f"{recorded} recorded signals; writes {out}"
    )
    return summary, plan.notes


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and CI)."""
    import json

    from cosim.scenario import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@click.command("export")
@click.argument("result_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False),
    required=True,
    callback=output_folder,
    help="Folder for one CSV file per output group.",
)
def export(result_file: Path, csv_dir: Path) -> None:
    """Export a result file's signals to CSV, one file per output group."""
    from cosim.export import export_csv

    for path in export_csv(_read_result(result_file), csv_dir):
        click.echo(str(path))


def _read_result(path: Path):
    """The result file, with a warning line when its run did not complete."""
    from cosim.results import STATUS_COMPLETE, read_result

    result = read_result(path)
    if result.rows and result.status != STATUS_COMPLETE:
        end = max(float(t[-1]) for t in result.times.values() if len(t))
        click.echo(
            f"warning: {path} is from {result.describe()}; it holds {result.rows:,} rows up to t = {end:g} s",
            err=True,
        )
    return result


@click.command("plot")
@click.argument("result_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=output_file,
    help="PNG file (default: next to the result, .png).",
)
def plot(result_file: Path, output: Path | None) -> None:
    """Plot a result file to PNG: the scenario's plots, or panels by unit (temperatures, power, ...)."""
    from cosim.plot import plot_result

    out = output or result_file.with_suffix(".png")
    try:
        plot_result(_read_result(result_file), out)
    except (ValueError, KeyError) as err:
        raise EvtwinError(f"{result_file}: cannot plot: {err}") from None
    click.echo(str(out))


from cosim.ssp.cli import ssp  # noqa: E402 - a command group of its own module

COMMANDS = (run, validate, schema, export, plot, ssp)

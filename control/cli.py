"""``evtwin experiment charging``: the same vehicle, usage and climate once per charging policy.

Heavy imports happen inside the command so ``evtwin --help`` stays instant.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
from pathlib import Path

import click

from cosim.cli_types import output_folder


@click.group("experiment")
def experiment() -> None:
    """Experiments that run one scenario several ways and compare the runs."""


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from cosim.scenario.model import to_unit

    try:
        value = float(text) if text.replace(".", "", 1).isdigit() else to_unit(text.strip(), "s")
    except ValueError as err:
        raise click.BadParameter(f"{text!r}: {err}") from None
    if not (value > 0 and math.isfinite(value)):
        raise click.BadParameter(f"{text!r}: the duration must be > 0 and finite")
    return value


@experiment.command("charging")
@click.argument("experiment_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the table as a JSON list of objects.")
@click.option("--short", is_flag=True, help="Run the file's short override (a quick look, tests).")
@click.option("--duration", default=None, metavar="D", help="Simulate D instead: seconds, or '7 d', '1 yr'.")
@click.option(
    "-p",
    "--policy",
    "only",
    multiple=True,
    metavar="NAME",
    help="Run only this policy of the file (repeatable; default: all).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per policy, at most the cores).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    callback=output_folder,
    help="Folder for the result files, table and plot (default results/<experiment name>).",
)
def charging(
    experiment_file: Path,
    as_json: bool,
    short: bool,
    duration: str | None,
    only: tuple[str, ...],
    jobs: int | None,
    out: Path | None,
) -> None:
    """Run EXPERIMENT_FILE's scenario once per charging policy and compare them.

    Prints and saves (table.csv, table.json) per policy: mean charge duration, energy from the grid,
    charger losses, capacity fade per year and projected years to 80 %, peak cell temperature and
    departures missed; and a plot of SOC and SOH against time (soc_soh.png).
    """
    from control.experiment import load_experiment

    exp = load_experiment(experiment_file)
    unknown = [name for name in only if name not in exp.policies]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not a policy of {exp.path.name} "
                                 f"(policies: {', '.join(exp.policies)})", param_hint="--policy")
    if only:
        exp.policies = {name: spec for name, spec in exp.policies.items() if name in only}
    seconds = _duration(duration)
    if seconds is None and short:
        seconds = _duration(str(exp.short.get("duration"))) if exp.short.get("duration") else None
    if seconds is None and exp.duration is not None:
        seconds = _duration(str(exp.duration))
    out = out or Path("results") / exp.name
    try:
        rows = _run_all(exp, seconds, out, jobs or min(len(exp.policies), os.cpu_count() or 1), quiet=as_json)
    except _Interrupted as stop:
        click.echo(f"interrupted ({signal.Signals(stop.signum).name}): each policy's result file holds what "
                   f"it ran, in {out}", err=True)
        sys.exit(128 + stop.signum)
    from control.experiment_table import write_outputs

    paths = write_outputs(rows, out)
    plain = [{k: v for k, v in r.items() if k != "trend"} for r in rows]
    if as_json:
        click.echo(json.dumps(plain, indent=2))
        return
    _print_table(exp, rows, paths)


class _Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP while the policies ran; ``signum``: which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop_workers(pool) -> None:
    """Interrupt the workers still running a policy, so that each closes its result file and the pool's
    shutdown does not wait for a year to be simulated (the signal reaches only this process when it is
    sent to it alone, as SIGTERM usually is)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            try:
                os.kill(process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass  # it ended in between


def _run_all(exp, seconds, out: Path, jobs: int, quiet: bool) -> list[dict]:
    """Check every policy's scenario here (building a missing FMU once), then run them in worker processes;
    :class:`_Interrupted` on Ctrl-C, SIGTERM or SIGHUP, once the workers have stopped."""
    from cosim import interrupts

    with interrupts.catching():
        try:
            return _run_pool(exp, seconds, out, jobs, quiet)
        except KeyboardInterrupt:
            raise _Interrupted(interrupts.received() or signal.SIGINT) from None


def _run_pool(exp, seconds, out: Path, jobs: int, quiet: bool) -> list[dict]:
    import multiprocessing
    import queue as queue_module
    from concurrent.futures import ProcessPoolExecutor

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from control.experiment_run import policy_scenario, run_policy
    from cosim.scenario.plan import make_plan

    plans = {}
    for name in exp.policies:
        source, model = policy_scenario(exp, name)
        plans[name] = make_plan(source, model, duration=seconds)
    total = seconds or next(iter(plans.values())).model.experiment.duration
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        progress_queue = manager.Queue()
        futures = {
            name: pool.submit(
                run_policy, str(exp.path), name, seconds, str(out / f"{name}.h5"), progress_queue
            )
            for name in exp.policies
        }
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=quiet or not console.is_terminal,
        ) as bar:
            tasks = {name: bar.add_task(name, total=total) for name in exp.policies}
            start = plans[next(iter(plans))].model.experiment.start
            try:
                while not all(f.done() for f in futures.values()):
                    try:
                        name, t = progress_queue.get(timeout=0.2)
                        bar.update(tasks[name], completed=t - start)
                    except queue_module.Empty:
                        pass
            except KeyboardInterrupt:
                _stop_workers(pool)
                raise
        return [futures[name].result() for name in exp.policies]


def _print_table(exp, rows: list[dict], paths: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from control.experiment_table import COLUMNS, comparison

    days = rows[0]["simulated_days"] if rows else 0.0
    table = Table(
        title=f"{exp.name}: {len(rows)} policies, {days:g} days each (target SOC {exp.target_soc:g})"
    )
    for key, heading, _ in COLUMNS:
        table.add_column(heading, justify="left" if key == "policy" else "right", no_wrap=key == "policy")
    table.add_column("fade vs first", justify="right")
    relative = comparison(rows)
    for r in rows:
        cells = []
        for key, _, fmt in COLUMNS:
            if key == "missed_departures":
                cells.append(f"{r['missed_departures']} / {r['departures']}")
            elif r[key] is None:
                cells.append("too short to project")
            else:
                cells.append(fmt.format(r[key]))
        baseline = r is rows[0]
        cells.append(
            "baseline" if baseline else f"{-relative[r['policy']]:+.1%}" if r["policy"] in relative else "-"
        )
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a file or a pipe: no wrapped columns
    console.print(table)
    fallbacks = {r["policy"]: r["mpc_fallbacks"] for r in rows if r["mpc_solves"]}
    for name, n in fallbacks.items():
        console.print(
            f"{name}: {n} of {next(r['mpc_solves'] for r in rows if r['policy'] == name)} solves fell back "
            "to CC-CV"
        )
    console.print(f"table: {paths['csv']}, {paths['json']}  plot: {paths['plot']}")

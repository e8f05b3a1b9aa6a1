"""``evtwin fleet run`` and ``evtwin fleet report``."""

from __future__ import annotations

from pathlib import Path

import click

#: CPU seconds per vehicle-year in fleet mode, by battery, for the estimate printed before a run starts:
#: fleets/small.yaml took 253 CPU s for 16 vehicle-years with the FMU on the shared 2-core development
#: machine (docs/fleet.md); in process (the driving steps in C), the 90 varied cars of
#: ml/data/training_fleet.yaml took 2120 CPU s for 900 vehicle-years at a load of 1-5 (2.4 a vehicle-year;
#: 2.1 on the quiet machine; the Miami commuter alone 1.0-1.2).
CPU_S_PER_VEHICLE_YEAR = {"fmu": 16.0, "in_process": 2.7}


@click.group()
def fleet() -> None:
    """Fleets of simulated EVs on Dask: run them, report on them."""


@fleet.command("run")
@click.argument("fleet_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: results/<fleet file name>).")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler (default: a local cluster).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster (default: the CPU count).")
@click.option("--resume", is_flag=True, help="Finish a stopped run in the output folder; nothing written is recomputed.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Simulate only this many days of each vehicle (a quick look).")
@click.option("--trace", "traces", multiple=True, metavar="ID",
              help="Keep this vehicle's full-resolution trace (e.g. v00003; repeat for more).")
def run(fleet_file: Path, output: Path | None, scheduler: str | None, workers: int | None, resume: bool,
        days: float | None, traces: tuple[str, ...]) -> None:
    """Run every vehicle of FLEET_FILE; per-vehicle daily summaries and a fleet table go to the output folder."""
    from fleet.runner import run_fleet

    out = output or Path("results") / fleet_file.stem
    failed = run_fleet(fleet_file, out, scheduler=scheduler, workers=workers, resume=resume, days=days,
                       traces=traces)
    if failed:
        raise SystemExit(1)


@fleet.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--warranty", default="8 yr, 160000 km, 0.7", show_default=True,
              help="Warranty point: years, km and the capacity SOH it guarantees.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the plot (default: FOLDER/report.png).")
def report(folder: Path, warranty: str, plot_file: Path | None) -> None:
    """SOH percentiles over years and km, warranty shares, breakdowns, the vehicles that fail it."""
    from fleet.report import Warranty, print_report

    print_report(folder, Warranty.parse(warranty), plot_file or folder / "report.png")

"""Running a fleet file: draw, estimate, run on Dask with a progress bar, write the fleet table."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import shlex
import time
from pathlib import Path

from cosim.errors import EvtwinError


def _fmu_path(fleet_file: Path, model) -> Path | None:
    """The battery FMU (built when missing), or None for the in-process battery."""
    if model.battery != "fmu":
        return None
    from cosim import registry

    path = (fleet_file.parent / model.fmu).resolve()
    if not path.is_file():
        if path.name not in registry.fmu_builders():
            raise EvtwinError(f"{fleet_file}: fmu: {path} does not exist")
        registry.build_fmu(path.name, path.parent)
    return path


def jobs(fleet, fmu: Path | None, days: float | None, traces: frozenset[str] = frozenset()):
    """The batch: one job per vehicle, weighted by its vehicle-years. Vehicles in ``traces`` (or the fleet
    file's ``traces``) run at full resolution and keep their trace."""
    from cosim.batch import Job

    years = fleet.model.years if days is None else days / 365.0
    traced = set(traces) | set(fleet.model.traces)
    out = []
    for v in fleet.vehicles:
        payload = {
            "vehicle": dataclasses.asdict(v),
            "battery": fleet.model.battery,
            "resolution": "full" if v.vehicle_id in traced else fleet.model.resolution,
            "fmu": str(fmu) if fmu else None,
            "duration": None if days is None else days * 86400.0,
            "trace": v.vehicle_id in traced,
        }
        out.append(Job(v.vehicle_id, payload, years))
    return out


def metadata(fleet, fmu: Path | None, days: float | None, traces: tuple[str, ...] = ()) -> dict:
    from cosim.scenario.runner import git_commit, versions

    from importlib.metadata import PackageNotFoundError, version

    vers = versions()
    for pkg in ("dask", "distributed"):
        try:
            vers[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {
        "fleet_file": str(fleet.path),
        "fleet_sha256": hashlib.sha256(fleet.text.encode()).hexdigest(),
        "seed": fleet.model.seed,
        "vehicles": len(fleet.vehicles),
        "years": fleet.model.years if days is None else days / 365.0,
        "battery": fleet.model.battery,
        "resolution": fleet.model.resolution,
        "fmu": str(fmu) if fmu else None,
        "days": days,
        "traces": sorted(set(traces)),
        "versions": vers,
        "git_commit": git_commit(fleet.path.parent),
        "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def run_fleet(fleet_file: Path, out: Path, *, scheduler: str | None = None, workers: int | None = None,
              resume: bool = False, days: float | None = None, traces: tuple[str, ...] = ()) -> int:
    """Run a fleet file into ``out``; the number of vehicles that failed. ``traces``: vehicle ids whose
    full-resolution trace is kept (besides the fleet file's)."""
    from rich.console import Console
    from rich.markup import escape

    from cosim.batch import ClusterLost, run_batch
    from fleet import spec
    from fleet.cli import CPU_S_PER_VEHICLE_YEAR
    from fleet.store import FleetStore
    from fleet.task import run_job

    console = Console(stderr=True)
    fleet = spec.load(fleet_file)
    unknown = sorted(set(traces) - {v.vehicle_id for v in fleet.vehicles})
    if unknown:
        raise EvtwinError(f"--trace: no vehicle {unknown[0]} in {fleet_file} (ids run v00000 to "
                          f"v{len(fleet.vehicles) - 1:05d})")
    fmu = _fmu_path(fleet_file, fleet.model)
    batch = jobs(fleet, fmu, days, frozenset(traces))
    store = FleetStore(out)
    if resume and (out / "metadata.json").is_file():
        _check_resumed_options(store.metadata(), fleet_file, out, days, traces)
    store.prepare(fleet.text, resume, metadata(fleet, fmu, days, traces))
    total_years = sum(j.weight for j in batch)
    cpu_s = CPU_S_PER_VEHICLE_YEAR[fleet.model.battery]
    done = store.done()
    left = sum(j.weight for j in batch if j.key not in done)
    years_text = f"{total_years:,.0f}" if total_years >= 100 else f"{total_years:.3g}"
    console.print(f"{len(batch)} vehicles, {years_text} vehicle-years ({len(done)} vehicles done already); "
                  f"expected {core_time(left * cpu_s)} at ~{cpu_s:g} CPU s a vehicle-year")
    bar = _Bar(console, len(batch), len(done), total_years - left)
    try:
        with bar:
            outcome = run_batch(batch, run_job, store, scheduler=scheduler, workers=workers, progress=bar.update,
                                on_start=bar.started)
    except KeyboardInterrupt:
        _stopped(console, store, "interrupted", len(batch), resume_command(fleet_file, out, days, traces))
        raise SystemExit(130) from None
    except ClusterLost as err:
        _stopped(console, store, str(err), len(batch), resume_command(fleet_file, out, days, traces))
        raise SystemExit(1) from None
    table = store.write_fleet_table()
    failures = store.failures()
    console.print(
        f"{len(outcome.computed)} vehicles run now, {len(outcome.skipped)} kept from before, "
        f"{len(failures)} failed; fleet table: {table}"
    )
    for key, message in failures.items():
        console.print(f"[red]{key} failed:[/red] {escape(message.splitlines()[0]) if message else ''}")
    notes = store.notes()
    if notes:
        key, first = next(iter(notes.items()))
        console.print(f"{len(notes)} of {len(batch)} vehicles noted by the battery twin, e.g. {key}: "
                      f"{escape(first[0])} (each vehicle's notes: attribute 'notes' of its file)")
    return len(failures)


def _stopped(console, store, why: str, vehicles: int, command: str) -> None:
    store.write_fleet_table()
    console.print(f"{why}: {len(store.done())} of {vehicles} vehicles kept in {store.root}; finish with: {command}")


def resume_command(fleet_file: Path, out: Path, days: float | None, traces) -> str:
    """The command that finishes a run started with these options."""
    options = f" --days {days:g}" if days is not None else ""
    options += "".join(f" --trace {key}" for key in sorted(set(traces)))
    return f"evtwin fleet run {shlex.quote(str(fleet_file))} -o {shlex.quote(str(out))} --resume{options}"


def _check_resumed_options(saved: dict, fleet_file: Path, out: Path, days: float | None, traces) -> None:
    """A resumed run keeps the span and the traces it was started with: a vehicle of another span or
    resolution would mix into its fleet table unnoticed."""
    if "days" not in saved:  # a folder from before these options were recorded
        return
    then_traces = saved.get("traces", [])
    if saved["days"] != days or sorted(set(traces)) != then_traces:
        raise EvtwinError(f"{out} was started with other options; finish it with: "
                          f"{resume_command(fleet_file, out, saved['days'], then_traces)}")


def core_time(cpu_s: float) -> str:
    """CPU time in the unit a planner reads: core-hours, or core-minutes under one core-hour."""
    if cpu_s >= 3600.0:
        return f"{cpu_s / 3600.0:,.1f} core-hours"
    if cpu_s >= 60.0:
        return f"{cpu_s / 60.0:.0f} core-minutes"
    return f"{cpu_s:.2g} CPU s"


class _Bar:
    """Progress over vehicles with the rate in vehicle-years per minute: a bar on a terminal, a line
    every ``log_every_s`` (and at the last vehicle) in a log file, where a bar would show only at the end."""

    def __init__(self, console, vehicles: int, done: int, done_years: float, log_every_s: float = 60.0):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console, self.vehicles, self.completed = console, vehicles, done
        self.log_every_s, self.logged_at = log_every_s, time.perf_counter()

        self.progress = Progress(
            TextColumn("vehicles"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(), console=console, transient=False,
        )
        self.task = self.progress.add_task("fleet", total=vehicles, completed=done, rate="starting the cluster")
        self.t0 = time.perf_counter()
        self.years0 = done_years

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def started(self, workers: int) -> None:
        self.t0 = time.perf_counter()
        self.progress.update(self.task, rate=f"{workers} workers")

    def update(self, done_years: float, total_years: float, key: str, ok: bool) -> None:
        minutes = (time.perf_counter() - self.t0) / 60.0
        rate = (done_years - self.years0) / minutes if minutes > 0 else 0.0
        self.progress.update(self.task, advance=1, rate=f"{rate:.2f} vehicle-years/min")
        self.completed += 1
        now = time.perf_counter()
        if not self.console.is_terminal and (now - self.logged_at >= self.log_every_s
                                             or self.completed == self.vehicles):
            self.logged_at = now
            self.console.print(f"{self.completed}/{self.vehicles} vehicles, {rate:.2f} vehicle-years/min")

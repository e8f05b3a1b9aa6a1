"""Running a checked scenario: build the units and the master, record to HDF5, summarise.

The output path is claimed (locked, and checked not to be some other file) before anything is
built; the result file is written under its own name from the start and flushed as the run
goes. On success its ``status`` is ``complete``; when a unit fails it is ``failed: <message>``
and :class:`RunFailed` is raised; on Ctrl-C, SIGTERM or SIGHUP it is ``interrupted`` and
:class:`RunInterrupted` is raised. Both carry what ran (:class:`RunReport`) and the path of
the partial file, or None when the run ended before writing one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import signal
import subprocess
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim import interrupts, run_warnings, timeline
from cosim.errors import EvtwinError, EvtwinWarning, ScenarioError, SimulationError
from cosim.master import Master, RunStats
from cosim.results import STATUS_COMPLETE, STATUS_INTERRUPTED, OutputClaim, ResultsWriteError, ResultWriter
from cosim.scenario.plan import Plan
from cosim.summary import SummaryObserver


class RunFailed(SimulationError):
    """A run that stopped on an error; ``path`` is the partial result file (None if none was written)."""

    def __init__(self, cause: EvtwinError, path: Path | None, report: RunReport | None = None):
        self.cause, self.path, self.report = cause, path, report
        # A failed write says itself what the file kept.
        show = path is not None and not isinstance(cause, ResultsWriteError)
        where = f"\npartial results (readable) in {path}" if show else ""
        EvtwinError.__init__(self, f"{cause}{where}")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) during a run; ``path`` is the partial result file (None if none)."""

    def __init__(self, path: Path | None, report: RunReport | None = None, signum: int = signal.SIGINT):
        self.path, self.report, self.signum = path, report, signum
        where = f"partial results (readable) in {path}" if path is not None else "no results were written"
        super().__init__(f"interrupted ({signal.Signals(signum).name}); {where}")


@dataclass
class RunReport:
    """A finished run: where its results are, what the master did, the summary rows."""

    path: Path
    stats: RunStats
    summary: list[tuple[str, float, str]]
    #: Of a paced run: factor, points, overruns and lateness (:meth:`cosim.realtime.Pacer.report`).
    realtime: dict[str, float] | None = None


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("evtwin", "numpy", "h5py", "fmpy", "pydantic", "ruamel.yaml", "pythonfmu"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def git_commit(where: Path) -> str | None:
    """The commit of the git work tree holding ``where`` (with ``+dirty``), or None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def segments(plan: Plan, duration: float | None = None):
    """The run's timeline: the schedule's phases, or one segment at the algorithm's step."""
    span = plan.duration if duration is None else duration
    if not span > 0:
        raise ScenarioError(f"the duration must be > 0 s (got {span:g} s)")
    stop = plan.start + span
    if plan.schedule is not None:
        segs = plan.schedule.segments(plan.start, stop)
    else:
        segs = timeline.fixed(plan.start, stop, plan.step)
    if plan.model.algorithm.snap_to_grid:
        from cosim.scenario.fmu_checks import fixed_step_grid

        segs = list(segs) if plan.schedule is None else segs
        first = next(iter(plan.schedule.segments(plan.start, stop))) if plan.schedule is not None else segs[0]
        grid = fixed_step_grid(plan.units, first)
        if grid is not None:
            return timeline.snap(segs, grid, plan.start)
    return segs


def build_master(plan: Plan, observe: Sequence[str] = ()) -> Master:
    """Instantiate and configure every unit, and the master over them; ``observe``: more signals to bind."""
    units = {}
    try:
        for name, up in plan.units.items():
            try:
                unit = up.make()
                if up.parameters:
                    unit.configure(up.parameters)
            except EvtwinError:
                raise
            except Exception as err:
                raise ScenarioError(
                    f"units.{name}: cannot create the unit: {type(err).__name__}: {err}"
                ) from err
            units[name] = unit
        every = {name: up.every for name, up in plan.units.items() if up.every != 1}
        return Master(
            units,
            plan.connections,
            settings=plan.settings,
            every=every,
            events=plan.events,
            observe=list(dict.fromkeys([*plan.observed, *observe])),
        )
    except BaseException:
        for unit in units.values():
            try:
                unit.terminate()
            except Exception:  # already failing; the first error is the one to report
                pass
        raise


def run_plan(
    plan: Plan,
    output: str | Path | None = None,
    duration: float | None = None,
    progress: Callable[[float], None] | None = None,
    force: bool = False,
    realtime: float | None = None,
) -> RunReport:
    """Run a checked scenario and write its results.

    Parameters
    ----------
    plan : Plan
        From :func:`cosim.scenario.check`.
    output : path, optional
        Result file; default ``outputs.file`` or ``results/<scenario name>.h5``.
    duration : float, optional
        Simulated time [s] instead of the scenario's.
    progress : callable, optional
        Called now and then with the simulated time [s].
    force : bool
        Overwrite ``output`` even when it is an existing file that is not an evtwin result.
    realtime : float, optional
        Pace the run to this many simulated seconds per wall-clock second (1: real time); the
        overruns go to the report and to the file's ``realtime`` attribute (:mod:`cosim.realtime`).

    Raises
    ------
    RunFailed, RunInterrupted
        With the path of the partial (readable) result file.
    OutputBusy
        When another run is writing ``output``.
    """
    src = plan.source
    path = Path(output or plan.model.outputs.file or Path("results") / f"{src.path.stem}.h5")
    segs = segments(plan, duration)
    pacer = None
    if realtime is not None:
        from cosim.realtime import Pacer

        pacer = Pacer(realtime)
    claim = OutputClaim(path, force=force)
    try:
        with interrupts.catching():
            return _run(plan, path, segs, progress, claim, pacer)
    finally:
        claim.release()


def _run(plan: Plan, path: Path, segs, progress, claim: OutputClaim, pacer=None) -> RunReport:
    try:
        master = build_master(plan)
    except KeyboardInterrupt:
        raise RunInterrupted(None, None, interrupts.received() or signal.SIGINT) from None
    _warn_fixed_step(plan, master)
    facts = {name: {**up.facts, **_metadata(master.units[name])} for name, up in plan.units.items()}

    def unit_facts() -> dict[str, Any]:
        """The facts again at the end, updated by what each unit says now (kept where it cannot say);
        and the pacing's overruns, when paced."""
        units = {"units": {name: _updated(facts[name], master.units[name]) for name in facts}}
        return units if pacer is None else {**units, "realtime": pacer.report()}
    writer = _open_writer(plan, master, path, facts, claim, paced=pacer is not None)
    summary = SummaryObserver(plan.summary)
    streams = [kind(settings) for kind, settings, _ in plan.streams]
    observers = [writer, summary, *streams] if pacer is None else [writer, summary, pacer, *streams]
    try:
        try:
            stats = master.run(segs, observers=observers, progress=progress)
        except BaseException:
            _close_streams(streams, failing=True)
            raise
    except KeyboardInterrupt:
        _stop(writer, master, summary, STATUS_INTERRUPTED, unit_facts)
        raise _interrupted(writer, master, summary) from None
    except EvtwinError as err:
        if interrupts.received() is not None and not isinstance(err, ResultsWriteError):
            # A Python FMU turns the KeyboardInterrupt raised inside it into an FMU error.
            _stop(writer, master, summary, STATUS_INTERRUPTED, unit_facts)
            raise _interrupted(writer, master, summary) from None
        if not isinstance(err, ResultsWriteError):
            _stop(writer, master, summary, f"failed: {err}", unit_facts)
        raise RunFailed(err, path if writer.started else None, _report(writer, master, summary)) from err
    except BaseException as err:
        _stop(writer, master, summary, f"failed: {type(err).__name__}: {err}", unit_facts)
        raise
    try:
        with interrupts.deferred():
            final = (stats.end, master.outs, master.ins)
            writer.close(STATUS_COMPLETE, _closing(stats, summary, **unit_facts()), final=final)
    except ResultsWriteError as err:
        raise RunFailed(err, path, RunReport(path, stats, summary.values())) from None
    pacing = pacer.report() if pacer is not None else None
    try:
        _close_streams(streams, failing=False)
    except EvtwinError as err:
        raise RunFailed(err, path, RunReport(path, stats, summary.values(), pacing)) from None
    return RunReport(path, stats, summary.values(), pacing)


def _open_writer(plan: Plan, master, path: Path, facts: dict, claim: OutputClaim, paced: bool) -> ResultWriter:
    """The result file's writer, with the run's provenance as metadata and room reserved for what the
    run adds at its end (summary, the units' facts again, the pacing's report)."""
    src = plan.source
    compression = plan.model.outputs.compression
    reserve = {"summary": _summary_size(plan.summary), "units": _units_size(facts)}
    if paced:
        reserve["realtime"] = 256  # room for the pacing's report (JSON)
    return ResultWriter(
        path,
        plan.groups,
        metadata={
            "scenario": src.text,
            "scenario_sha256": hashlib.sha256(src.text.encode()).hexdigest(),
            "scenario_path": str(src.path),
            "versions": versions(),
            "git_commit": git_commit(src.path.parent),
            "units": facts,
            "fmu_guids": {n: f["guid"] for n, f in facts.items() if "guid" in f},
            "order": master.order,
            "plots": plan.plots,
            "started_at": _now(),
        },
        compression=None if compression == "none" else compression,
        reserve=reserve,
        claim=claim,
    )


def _close_streams(streams: list, failing: bool) -> None:
    """End the stream outputs: each sends what it holds. While a run fails, its error is the one to report."""
    for stream in streams:
        try:
            stream.close()
        except EvtwinError:
            if not failing:
                raise


def _stop(writer: ResultWriter, master: Master, summary: SummaryObserver, status: str, unit_facts) -> None:
    """Close the file of a run that did not complete; its own rows give its end time and steps."""
    try:
        with interrupts.deferred():
            writer.close(status, _closing(None, summary, master.stats, **unit_facts()))
    except ResultsWriteError:
        pass  # the writer said what was kept; the run's own error is the one to report


def _report(writer: ResultWriter, master: Master, summary: SummaryObserver) -> RunReport | None:
    stats = getattr(master, "stats", None)
    if stats is None:
        return None
    end, steps = writer.reached()
    if end is not None:
        stats.end, stats.steps = end, steps
    return RunReport(writer.path, stats, _summary_values(summary))


def _interrupted(writer: ResultWriter, master: Master, summary: SummaryObserver) -> RunInterrupted:
    path = writer.path if writer.started else None
    return RunInterrupted(path, _report(writer, master, summary), interrupts.received() or signal.SIGINT)


def _summary_size(rows) -> int:
    """Bytes the summary attribute needs: its JSON with the longest number text in each value."""
    longest = -1.2345678901234567e-300
    text = json.dumps([{"label": r.label, "value": longest, "unit": r.unit} for r in rows])
    return len(text.encode()) + 64


def _warn_fixed_step(plan: Plan, master: Master) -> None:
    """Warn about units that cannot vary their step when the schedule gives them several."""
    if plan.schedule is not None:
        phases = dict(plan.schedule.steps)
    else:
        phases = {"": plan.step}
    for name, unit in master.units.items():
        if getattr(unit, "can_vary_step", True):
            continue
        every = plan.units[name].every
        steps = sorted(
            {h * (every if isinstance(every, int) else every.get(p, 1)) for p, h in phases.items()}
        )
        if len(steps) > 1:
            warnings.warn(run_warnings.fixed_step(name, steps), EvtwinWarning, stacklevel=2)


def _metadata(unit: Any) -> dict[str, Any]:
    try:
        return dict(unit.metadata())
    except Exception as err:  # metadata is informative; a unit failing to give it must not stop the run
        return {"metadata_error": str(err)}


def _updated(facts: dict[str, Any], unit: Any) -> dict[str, Any]:
    now = _metadata(unit)
    return facts if "metadata_error" in now else {**facts, **now}


def _summary_values(summary: SummaryObserver) -> list[tuple[str, float, str]]:
    try:
        return summary.values()
    except (AttributeError, ValueError):  # the run ended before the first sample
        return []


def _units_size(facts: dict[str, Any]) -> int:
    """Bytes reserved for the units' facts: room for what they count during the run (frames, timings)."""
    return max(65536, 4 * len(json.dumps(facts).encode()))


def _closing(
    stats: RunStats | None,
    summary: SummaryObserver,
    partial: RunStats | None = None,
    units: dict[str, Any] | None = None,
    realtime: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Closing attributes; ``stats`` of a complete run, or ``partial`` ones of a run cut short; ``units``:
    each unit's facts read again at the end (what a unit counts during the run is only known then)."""
    attrs: dict[str, Any] = {"finished_at": _now()}
    if units is not None:
        attrs["units"] = units
    if realtime is not None:
        attrs["realtime"] = realtime
    values = _summary_values(summary)
    if values:
        attrs["summary"] = [{"label": label, "value": value, "unit": unit} for label, value, unit in values]
    if stats is not None:
        attrs.update(
            {
                "end_time": stats.end,
                "wall_time": stats.wall_time,
                "cpu_time": stats.cpu_time,
                "real_time_factor": stats.real_time_factor,
                "steps": stats.steps,
                "rejected_steps": stats.rejected,
                "stopped_by": stats.stopped_by,
            }
        )
    elif partial is not None:
        attrs.update({"rejected_steps": partial.rejected, "stopped_by": partial.stopped_by})
    return attrs


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

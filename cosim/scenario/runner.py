"""Running a checked scenario: build the units and the master, record to HDF5, summarise.

A run always leaves a readable result file: on success its ``status`` is ``complete``; when a
unit fails it is ``failed: <message>`` and :class:`RunFailed` carries the path; on Ctrl-C it
is ``interrupted`` and :class:`RunInterrupted` carries the path.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim import run_warnings, timeline
from cosim.errors import EvtwinError, EvtwinWarning, ScenarioError, SimulationError
from cosim.master import Master, RunStats
from cosim.results import STATUS_COMPLETE, STATUS_INTERRUPTED, ResultWriter
from cosim.scenario.plan import Plan
from cosim.summary import SummaryObserver


class RunFailed(SimulationError):
    """A run that stopped on an error; ``path`` is the partial result file."""

    def __init__(self, cause: EvtwinError, path: Path):
        self.cause, self.path = cause, path
        EvtwinError.__init__(self, f"{cause}\npartial results (readable) in {path}")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``path`` is the partial result file."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"interrupted; partial results (readable) in {path}")


@dataclass
class RunReport:
    """A finished run: where its results are, what the master did, the summary rows."""

    path: Path
    stats: RunStats
    summary: list[tuple[str, float, str]]


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


def build_master(plan: Plan) -> Master:
    """Instantiate and configure every unit, and the master over them."""
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
            observe=plan.observed,
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

    Raises
    ------
    RunFailed, RunInterrupted
        With the path of the partial (readable) result file.
    """
    src = plan.source
    path = Path(output or plan.model.outputs.file or Path("results") / f"{src.path.stem}.h5")
    segs = segments(plan, duration)
    master = build_master(plan)
    _warn_fixed_step(plan, master)
    facts = {name: {**up.facts, **_metadata(master.units[name])} for name, up in plan.units.items()}

    def unit_facts() -> dict[str, Any]:
        """The facts again at the end, updated by what each unit says now (kept where it cannot say)."""
        return {name: _updated(facts[name], master.units[name]) for name in facts}
    compression = plan.model.outputs.compression
    writer = ResultWriter(
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
    )
    summary = SummaryObserver(plan.summary)
    try:
        stats = master.run(segs, observers=[writer, summary], progress=progress)
    except KeyboardInterrupt:
        writer.close(STATUS_INTERRUPTED, _closing(master.stats, summary, unit_facts()))
        raise RunInterrupted(path) from None
    except EvtwinError as err:
        writer.close(f"failed: {err}", _closing(master.stats, summary, unit_facts()))
        raise RunFailed(err, path) from err
    except BaseException as err:
        writer.close(f"failed: {type(err).__name__}: {err}", _closing(master.stats, summary, unit_facts()))
        raise
    final = (stats.end, master.outs, master.ins)
    writer.close(STATUS_COMPLETE, _closing(stats, summary, unit_facts()), final=final)
    return RunReport(path, stats, summary.values())


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
        steps = sorted({h * (every if isinstance(every, int) else every.get(p, 1)) for p, h in phases.items()})
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


def _closing(stats: RunStats | None, summary: SummaryObserver, units: dict[str, Any]) -> dict[str, Any]:
    """The attributes written when the run ends; ``units`` is each unit's metadata read again at the end
    (what a unit counts during the run, such as frames sent to a simulator, is only known then)."""
    attrs: dict[str, Any] = {"finished_at": _now(), "units": units}
    try:
        attrs["summary"] = [
            {"label": label, "value": value, "unit": unit} for label, value, unit in summary.values()
        ]
    except (AttributeError, ValueError):
        pass
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
    return attrs


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

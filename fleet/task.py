"""One fleet vehicle's run, as a worker executes it: scenario, engine, daily summary."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from fleet.spec import Vehicle


def vehicle_yaml(vehicle: Vehicle, battery: str, resolution: str, fmu_path: str | None,
                 packed: bool | None = None) -> str:
    """The vehicle's scenario file text (``packed`` as :func:`fleet.usage.scenario`)."""
    import io

    from ruamel.yaml import YAML

    from fleet.usage import scenario

    doc = scenario(vehicle, battery=battery, resolution=resolution,
                   fmu_path=Path(fmu_path) if fmu_path else None, packed=packed)
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 120
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


class _Notes(logging.Handler):
    """The battery twin's warnings during one vehicle's run (e.g. the aging law used outside its fitted
    range), kept with the vehicle rather than printed over the fleet's progress."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


def run_vehicle(job: dict[str, Any], duration: float | None = None) -> dict[str, Any]:
    """Run one vehicle; the result holds its daily table and what the run cost.

    ``job``: ``vehicle`` (a :class:`Vehicle` as a mapping), ``battery``, ``resolution``, ``fmu``
    (path of the battery FMU on this machine), ``trace`` (keep every communication point:
    :mod:`fleet.trace`). ``duration`` [s] shortens the run (tests).
    """
    from fleet.usage import annual_km

    vehicle = Vehicle(**job["vehicle"])
    text = vehicle_yaml(vehicle, job["battery"], job["resolution"], job.get("fmu"))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    notes = _Notes()
    battery_log = logging.getLogger("battery_fmu")
    battery_log.addHandler(notes)
    try:
        stats, daily, trace = _run(vehicle, text, duration, job.get("trace"), job["resolution"] == "fleet")
    finally:
        battery_log.removeHandler(notes)
    return {
        **({"trace": trace.columns()} if trace else {}),
        "vehicle_id": vehicle.vehicle_id,
        "vehicle": vehicle.as_row(),
        "table": daily.table(),
        "annual_km": annual_km(vehicle),
        "steps": stats.steps,
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0,
        "scenario": text,
        "notes": notes.messages,
    }


def _run(vehicle: Vehicle, text: str, duration: float | None, keep_trace: bool, fleet_mode: bool = True):
    """(engine statistics, daily summary, trace or None) of one vehicle's scenario ``text``; in
    ``fleet_mode`` the time a charged car stays plugged in goes in the park phase's steps
    (:mod:`fleet.plugged_idle`)."""
    from bridges.presets import get_preset
    from cosim import scenario
    from fleet.daily import DailySummary
    from fleet.events import SessionEvents
    from fleet.plugged_idle import idle_when_charged
    from fleet.trace import Trace
    from fleet.usage import CHARGERS
    from fleet.vehicle_pack import VehiclePack

    with tempfile.TemporaryDirectory(prefix="evtwin-fleet-") as tmp:
        path = Path(tmp) / f"{vehicle.vehicle_id}.yaml"
        path.write_text(text, encoding="utf-8")
        plan = scenario.check(path)
        master = scenario.build_master(plan)
        daily = DailySummary(get_preset(vehicle.preset).capacity_Ah)
        segments = scenario.segments(plan, duration)
        if fleet_mode:
            segments = idle_when_charged(segments, master.units, CHARGERS, plan.schedule.steps["park"])
        unit = master.units["vehicle"]
        trace = Trace() if keep_trace else None
        events = SessionEvents(daily, [c for c in CHARGERS.values() if c in master.units])
        if isinstance(unit, VehiclePack):  # it reports its 10 s sub-steps itself
            daily.reset(plan.start)
            unit.on_substep, unit.on_substeps = daily.add, daily.add_series
            stats = master.run(segments, observers=[events, trace] if trace else [events])
        else:
            stats = master.run(segments, observers=[daily, events, trace] if trace else [daily, events])
        daily.finish()
    return stats, daily, trace


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """A Dask worker's entry: extract FMUs once per worker process, then run the vehicle."""
    from cosim.fmu.extraction import share_extractions

    share_extractions()
    return run_vehicle(job, job.get("duration"))

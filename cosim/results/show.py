"""`evtwin inspect` of a result file: how its run ended, how far it got, what it records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cosim.results.format import HDF5_SIGNATURE


def is_hdf5(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


def facts(path: Path) -> dict[str, Any]:
    """What a result file holds, as plain values (also for a file being written or left by a kill)."""
    from cosim.results.reader import read_result

    result = read_result(path)
    a = result.attrs
    groups = {
        name: {
            "rows": int(len(t)),
            "from_s": float(t[0]) if len(t) else None,
            "to_s": float(t[-1]) if len(t) else None,
            "signals": sorted(s.name for s in result.signals.values() if s.group == name),
        }
        for name, t in result.times.items()
    }
    return {
        "file": str(path),
        "status": result.status,
        "state": result.describe(),
        "scenario": a.get("scenario_path"),
        "started_at": a.get("started_at"),
        "finished_at": a.get("finished_at"),
        "start_time_s": a.get("start_time"),
        "end_time_s": a.get("end_time"),
        "steps": a.get("steps"),
        "wall_time_s": a.get("wall_time"),
        "real_time_factor": a.get("real_time_factor"),
        "events": len(result.events),
        "groups": groups,
    }


def show(path: Path, as_json: bool) -> None:
    import click

    info = facts(path)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['file']}: evtwin result, {info['state']}")
    for key in ("scenario", "started_at", "finished_at"):
        if info[key]:
            click.echo(f"  {key.replace('_', ' ')}: {info[key]}")
    if info["end_time_s"] is not None and info["start_time_s"] is not None:
        span = info["end_time_s"] - info["start_time_s"]
        click.echo(
            f"  simulated: {span:g} s in {info['steps']:,} macro steps, wall {info['wall_time_s']:.3g} s "
            f"(real-time factor {info['real_time_factor']:.3g})"
        )
    for name, g in info["groups"].items():
        where = f", t = {g['from_s']:g} .. {g['to_s']:g} s" if g["rows"] else ""
        click.echo(f"  group {name}: {g['rows']:,} rows{where}; {', '.join(g['signals']) or 'no signals'}")
    if info["events"]:
        click.echo(f"  events: {info['events']}")

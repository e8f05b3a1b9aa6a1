"""Result files to CSV: one file per output group, a header row with units."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosim.errors import EvtwinError
from cosim.results import Result


def export_csv(result: Result, out_dir: str | Path) -> list[Path]:
    """Write ``<group>.csv`` per output group that holds rows into ``out_dir``; the paths written.

    The header names each column ``unit.port [unit]``; the first column is ``time [s]``.

    Raises
    ------
    EvtwinError
        When the result holds no rows (nothing is written then).
    """
    if result.rows == 0:
        raise EvtwinError(f"{result.path} holds no rows, nothing to export; it is from {result.describe()}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for group, time in result.times.items():
        if len(time) == 0:
            continue
        signals = [s for s in result.signals.values() if s.group == group]
        n = min([len(time)] + [len(s.values) for s in signals])
        header = ["time [s]"] + [f"{s.name} [{s.unit}]" for s in signals]
        table = (
            np.column_stack([time[:n]] + [s.values[:n] for s in signals]) if n else np.empty((0, len(header)))
        )
        path = out_dir / f"{group}.csv"
        np.savetxt(path, table, delimiter=",", header=",".join(header), comments="", fmt="%.17g")
        written.append(path)
    if result.events:
        path = out_dir / "events.csv"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("time [s],event\n")
            for t, name in result.events:
                fh.write(f"{t!r},{name}\n")
        written.append(path)
    return written

"""Creating a result file whose every group, dataset and attribute exists before the first row.

The file is built beside its final name, closed, moved into place (atomically, replacing the
previous run's file only then) and opened again directly in SWMR-write mode. So there is no
moment at which a kill leaves a half-created file under the result's name, nor one at which
the file is open for writing without SWMR's ordering (which would leave it marked as open).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.results.format import PROGRESS, RUN_NUMBERS, STATUS_RUNNING, fixed_text, plain_or_json, write_attrs


@dataclass(frozen=True)
class DatasetSpec:
    """A 1-D float64 dataset that grows by appending: path, rows per chunk, attributes."""

    name: str
    chunk: int
    attrs: Mapping[str, Any]


def create(
    path: Path,
    attrs: Mapping[str, Any],
    texts: Mapping[str, int],
    datasets: Sequence[DatasetSpec],
    compression: str | None,
    event_name_bytes: int,
):
    """Create ``path`` with everything the run will fill; the h5py file, open for appending (SWMR)."""
    import h5py

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w", libver="latest", locking=False) as f:
            _fill(f, attrs, texts, datasets, compression, event_name_bytes)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return open_appending(path)


def _fill(f, attrs, texts, datasets, compression, event_name_bytes) -> None:
    write_attrs(f, attrs)
    for key, kind in RUN_NUMBERS.items():
        f.attrs.create(key, kind(0), dtype="i8" if kind is int else "f8")
    f.attrs.modify("end_time", float(attrs.get("start_time", 0.0)))
    for key, size in texts.items():  # reserved texts; one given at the start keeps its value
        initial = fixed_text(str(plain_or_json(attrs[key])), size) if attrs.get(key) is not None else b""
        f.attrs.create(key, initial, dtype=f"S{size}")
    f.attrs.modify("status", STATUS_RUNNING.encode())
    opts: dict[str, Any] = {"compression": compression, "shuffle": True} if compression else {}
    if compression == "gzip":
        # Level 1 with byte shuffling: most of gzip's ratio on float64 signals at a fraction of its cost.
        opts["compression_opts"] = 1
    for spec in datasets:
        ds = f.create_dataset(
            spec.name, shape=(0,), maxshape=(None,), dtype="f8", chunks=(spec.chunk,), **opts
        )
        ds.attrs.update(spec.attrs)
    groups = [spec.name.split("/", 1)[1] for spec in datasets if spec.name.startswith("time/")]
    fields = [*PROGRESS, *(f"rows:{g}" for g in groups)]
    progress = f.create_dataset("progress", data=[0.0] * len(fields), dtype="f8")  # contiguous, allocated
    progress.attrs["fields"] = [x.encode() for x in fields]
    ev = f.create_group("events")
    ev.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8", chunks=(256,)).attrs["unit"] = "s"
    ev.create_dataset("name", shape=(0,), maxshape=(None,), dtype=f"S{event_name_bytes}", chunks=(256,))


def open_appending(path: Path):
    """Open an existing result file for writing in SWMR mode from the first byte written."""
    import h5py
    from h5py import h5f, h5p

    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5f.LIBVER_LATEST, h5f.LIBVER_LATEST)
    fapl.set_file_locking(False, True)
    fid = h5f.open(os.fsencode(path), h5f.ACC_RDWR | h5f.ACC_SWMR_WRITE, fapl=fapl)
    return h5py.File(fid)

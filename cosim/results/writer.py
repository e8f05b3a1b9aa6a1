"""Writing a run to HDF5 as it goes, so that a kill at any moment leaves a readable file.

The file is opened in HDF5's single-writer/multiple-reader (SWMR) mode once every group,
dataset and attribute exists: from then on the writer only appends rows and updates fixed-size
attributes in place, HDF5 orders its writes so that the file on disk is consistent at every
moment, and readers (``evtwin plot``, ``export``) may open it while the run goes on.
Rows are written and the file flushed when a buffer is full (``buffer_bytes``) or
``flush_seconds`` passed, whichever comes first; after each flush the progress attributes
(``end_time``, ``steps``, ``wall_time``, ``real_time_factor``) are updated to match the rows.
"""

from __future__ import annotations

import errno
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cosim.errors import EvtwinError
from cosim.master import Master, Observer
from cosim.results.claim import OutputClaim
from cosim.results.format import (
    FORMAT,
    RUN_NUMBERS,
    RUN_TEXTS,
    STATUS_RUNNING,
    OutputGroup,
    fixed_text,
    plain_or_json,
    write_attrs,
)
from cosim.results.rows import RowBuffer, chunk_rows
from cosim.unit import OUTPUT

BUFFER_BYTES = 8 * 2**20
FLUSH_SECONDS = 2.0


class ResultsWriteError(EvtwinError):
    """Writing the result file failed (disk full, file too large, I/O error)."""


class FastSampling(NamedTuple):
    """A row buffer the master's generated loop fills itself (see :meth:`Observer.fast_sampling`)."""

    pack_into: Any
    buffer: memoryview
    vectors: list[tuple[bool, int]]
    row_bytes: int
    start: Any  # () -> (pos, next_check)
    check: Any  # (pos) -> (pos, next_check)
    save: Any  # (pos) -> None


class _Decimated:
    """A group recorded at some points only, with its own buffer."""

    __slots__ = ("spec", "buffer", "count", "t_row", "skipped")

    def __init__(self, spec: OutputGroup, buffer: RowBuffer):
        self.spec, self.buffer = spec, buffer
        self.count = 0
        self.t_row = -math.inf  # time of the last row
        self.skipped = math.nan  # the last point, when it was not recorded


class ResultWriter(Observer):
    """Writes a run to HDF5 as it goes (an :class:`~cosim.master.Observer`).

    Parameters
    ----------
    path : str or Path
        The file to create (parent folders are created).
    groups : sequence of OutputGroup
        What to record; a signal is stored once, in the first group that names it.
    metadata : mapping
        Root attributes written at the start (scenario text, versions, ...); values that are
        not strings or numbers are stored as JSON.
    block : int, optional
        Rows per block (and HDF5 chunk) instead of a size from ``buffer_bytes``.
    compression : str or None
        h5py compression filter (``"gzip"``, ``"lzf"`` or ``None``).
    buffer_bytes : int
        Memory the row buffers may hold [bytes]; a full buffer is written out.
    flush_seconds : float
        Wall time [s] after which buffered rows are written out even if the buffer is not full.
    reserve : mapping of str to int
        More text attributes that :meth:`close` sets, with their size [bytes] (the file cannot
        gain attributes once readers may attach).
    claim : OutputClaim, optional
        The claim on ``path`` taken by the caller; by default the writer claims it in :meth:`start`.
    """

    def __init__(
        self,
        path: str | Path,
        groups: Sequence[OutputGroup],
        metadata: Mapping[str, Any] | None = None,
        block: int | None = None,
        compression: str | None = "gzip",
        buffer_bytes: int = BUFFER_BYTES,
        flush_seconds: float = FLUSH_SECONDS,
        reserve: Mapping[str, int] | None = None,
        claim: OutputClaim | None = None,
    ):
        self.path = Path(path)
        self.specs = list(groups)
        self.metadata = dict(metadata or {})
        self.block = block
        self.compression = compression
        self.buffer_bytes = buffer_bytes
        self.flush_seconds = flush_seconds
        self.texts = {**RUN_TEXTS, **(reserve or {})}
        self._claim = claim
        self._file = None
        self._failed: ResultsWriteError | None = None
        self._fast: RowBuffer | None = None  # the groups recorded at every point
        self._fast_handed_over = False
        self._decimated: list[_Decimated] = []
        self._buffers: list[RowBuffer] = []
        self._events: list[tuple[float, str]] = []
        self._event_ds: tuple[Any, Any] | None = None
        self._events_written = 0
        self._points = 0
        self._t = math.nan
        self._created = False

    @property
    def started(self) -> bool:
        """True once this writer created its file (readable from then on, whatever happens)."""
        return self._created

    def reached(self) -> tuple[float | None, int]:
        """(time of the last communication point recorded [s], macro steps up to it), or (None, 0)."""
        if not self._created:
            return None, 0
        points, t = self._progress()
        return t, max(points - 1, 0)

    # -------------------------------------------------------------- observer
    def start(self, master: Master, t0: float) -> None:
        import h5py

        if self._claim is None:
            self._claim = OutputClaim(self.path)
        self.t0, self._t = t0, t0
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        try:
            f = h5py.File(self.path, "w", libver="latest", locking=False)
        except OSError as err:
            raise ResultsWriteError(f"cannot create {self.path}: {_reason(err)}") from None
        self._file = f
        try:
            self._create(f, master, t0)
            f.swmr_mode = True
            f.flush()
            self._created = True
        except OSError as err:
            self._fail(err)
        self._flush_due = time.monotonic() + self.flush_seconds

    def _create(self, f: Any, master: Master, t0: float) -> None:
        write_attrs(f, {"format": FORMAT, "start_time": t0, **self.metadata})
        for key, kind in RUN_NUMBERS.items():
            f.attrs.create(key, kind(0), dtype="i8" if kind is int else "f8")
        f.attrs.modify("end_time", float(t0))
        for key, size in self.texts.items():
            f.attrs.create(key, b"", dtype=f"S{size}")
        f.attrs.modify("status", STATUS_RUNNING.encode())
        opts: dict[str, Any] = {"compression": self.compression, "shuffle": True} if self.compression else {}
        if self.compression == "gzip":
            # Level 1 with byte shuffling: most of gzip's ratio on float64 signals at a fraction of its cost.
            opts["compression_opts"] = 1
        seen: set[str] = set()
        plans = []
        for spec in self.specs:
            signals = [s for s in spec.signals if s not in seen]
            seen.update(signals)
            plans.append((spec, signals, [(sig, *master.locate(sig)) for sig in signals]))
        full = [p for p in plans if p[0].at_every_point]
        if full:
            self._fast = self._make_buffer(master, [loc for p in full for loc in p[2]], len(plans))
        for spec, signals, located in plans:
            buf = self._fast if spec.at_every_point else self._make_buffer(master, located, len(plans))
            if not spec.at_every_point:
                self._decimated.append(_Decimated(spec, buf))
            chunk = (buf.chunk,)
            time_ds = f.create_dataset(
                f"time/{spec.name}", shape=(0,), maxshape=(None,), dtype="f8", chunks=chunk, **opts
            )
            time_ds.attrs["unit"] = "s"
            # Rows a kill may lose at most (and about ``flush_seconds`` of a run's work).
            time_ds.attrs["block_rows"] = buf.cap // buf.row_bytes
            buf.add_target(time_ds, 0)
            for sig, i, causality, pos in located:
                unit, _, port_name = sig.partition(".")
                port = master.port(sig)
                ds = f.create_dataset(
                    f"signals/{unit}/{port_name}", shape=(0,), maxshape=(None,), dtype="f8", chunks=chunk, **opts
                )
                ds.attrs.update(
                    {
                        "unit": port.unit,
                        "causality": port.causality,
                        "description": port.description,
                        "time": f"/time/{spec.name}",
                        "type": port.type,
                    }
                )
                buf.add_target(ds, buf.column(causality == OUTPUT, i, pos))
        self._buffers = ([self._fast] if self._fast else []) + [d.buffer for d in self._decimated]
        names = [e.name.encode() for e in getattr(master, "events", ())]
        size = max([len(n) for n in names] + [1])
        ev = f.create_group("events")
        t_ds = ev.create_dataset("time", shape=(0,), maxshape=(None,), dtype="f8", chunks=(256,))
        t_ds.attrs["unit"] = "s"
        self._event_ds = (t_ds, ev.create_dataset("name", shape=(0,), maxshape=(None,), dtype=f"S{size}", chunks=(256,)))

    def _make_buffer(self, master: Master, located: list, n_groups: int) -> RowBuffer:
        vectors: dict[tuple[bool, int], int] = {}
        for _, i, causality, _ in located:
            is_out = causality == OUTPUT
            vectors.setdefault((is_out, i), len((master.outs if is_out else master.ins)[i]))
        budget = self.buffer_bytes // n_groups
        row_bytes = 8 * (1 + sum(vectors.values()))
        chunk = self.block or chunk_rows(row_bytes, budget)
        if self.block:
            budget = self.block * row_bytes
        return RowBuffer([(is_out, i, n) for (is_out, i), n in vectors.items()], budget, chunk)

    def sample(self, t: float, outs: list, ins: list) -> None:
        self._t = t
        self._points += 1
        buf = self._fast
        if buf is not None and not self._fast_handed_over:
            buf.row(buf.pos, t, outs, ins)
            buf.pos += buf.row_bytes
            if buf.pos >= buf.next_check:
                self._check(buf)
        for d in self._decimated:
            self._sample_decimated(d, t, outs, ins)

    def fast_sampling(self) -> list[FastSampling]:
        """The groups recorded at every point, for the master's generated loop to fill directly."""
        buf = self._fast
        self.samples_each_point = bool(self._decimated)
        if buf is None or self._file is None:
            return []
        self._fast_handed_over = True
        # An interrupt inside check() after the rows were written leaves the loop a stale position.
        handed = [buf.epoch]

        def start() -> tuple[int, int]:
            handed[0] = buf.epoch
            return buf.pos, buf.next_check

        def check(pos: int) -> tuple[int, int]:
            buf.pos = pos
            self._check(buf)
            handed[0] = buf.epoch
            return buf.pos, buf.next_check

        def save(pos: int) -> None:
            if buf.epoch == handed[0]:
                buf.pos = pos

        return [
            FastSampling(
                buf.pack,
                buf.view,
                [(is_out, i) for is_out, i, _ in buf.vectors],
                buf.row_bytes,
                start,
                check,
                save,
            )
        ]

    def _sample_decimated(self, d: _Decimated, t: float, outs: list, ins: list) -> None:
        spec = d.spec
        if d.t_row > -math.inf:
            if spec.interval > 0.0:
                if t - d.t_row < spec.interval * (1.0 - 1e-12):
                    d.skipped = t
                    return
            else:
                d.count += 1
                if d.count < spec.every:
                    d.skipped = t
                    return
        d.count = 0
        d.t_row = t
        d.skipped = math.nan
        buf = d.buffer
        buf.row(buf.pos, t, outs, ins)
        buf.pos += buf.row_bytes
        if buf.pos >= buf.next_check:
            self._check(buf)

    def event(self, t: float, name: str) -> None:
        self._events.append((t, name))

    # ---------------------------------------------------------------- output
    def _check(self, buf: RowBuffer) -> None:
        """Called every few rows of ``buf``: flush when it is full or when it is time."""
        if buf.pos >= buf.cap or time.monotonic() >= self._flush_due:
            self.flush()
        buf.next_check = min(buf.pos + buf.check_bytes, buf.cap)

    def flush(self) -> None:
        """Write every buffered row and event, flush the file, then update the progress attributes."""
        f = self._file
        if f is None:
            return
        try:
            for buf in self._buffers:
                buf.write()
            self._write_events()
            f.flush()
            # Only now: the attributes must never claim rows that are not in the file.
            self._write_progress()
            f.flush()
        except OSError as err:
            self._fail(err)
        self._flush_due = time.monotonic() + self.flush_seconds

    def _write_events(self) -> None:
        new = self._events[self._events_written :]
        if not new:
            return
        t_ds, n_ds = self._event_ds
        n = self._events_written + len(new)
        for ds in (t_ds, n_ds):
            ds.resize((n,))
        t_ds[self._events_written :] = np.asarray([e[0] for e in new], dtype="f8")
        n_ds[self._events_written :] = np.asarray([e[1].encode() for e in new], dtype=n_ds.dtype)
        self._events_written = n

    def _progress(self) -> tuple[int, float]:
        """(communication points recorded, time of the last one [s])."""
        buf = self._fast
        if buf is not None and self._fast_handed_over and buf.total_rows:
            return buf.total_rows, buf.last_time() if buf.rows else self._t
        return self._points, self._t

    def _write_progress(self, final: Mapping[str, Any] | None = None) -> None:
        points, t = self._progress()
        wall = time.perf_counter() - self._wall0
        values = {
            "end_time": t,
            "steps": max(points - 1, 0),
            "wall_time": wall,
            "cpu_time": time.process_time() - self._cpu0,
            "real_time_factor": (t - self.t0) / wall if wall > 0 else 0.0,
            **(final or {}),
        }
        attrs = self._file.attrs
        for key, value in values.items():
            if value is None:
                continue
            if key in RUN_NUMBERS:
                attrs.modify(key, RUN_NUMBERS[key](value))
            elif key in self.texts:
                attrs.modify(key, fixed_text(str(plain_or_json(value)), self.texts[key]))
            else:
                raise ValueError(f"attribute {key!r} was not reserved when the file was created")

    def _fail(self, err: OSError) -> None:
        """Stop writing after an I/O error; what was flushed before stays readable."""
        points, t = self._progress()
        self._failed = ResultsWriteError(
            f"writing {self.path} failed: {_reason(err)}; the rows flushed before (up to about t = {t:g} s) "
            "are kept"
        )
        f, self._file = self._file, None
        try:
            f.close()
        except Exception:  # the file cannot take more writes; what is on disk is what is kept
            pass
        raise self._failed from None

    def close(self, status: str, attrs: Mapping[str, Any] | None = None, final: tuple | None = None) -> None:
        """Flush, write the closing attributes and close the file.

        Parameters
        ----------
        status : str
            ``"complete"``, ``"interrupted"`` or ``"failed: <message>"``.
        attrs : mapping
            Reserved attributes to set (end time, wall time, ...; see ``reserve``).
        final : (t, outs, ins) or None
            The last communication point, recorded in groups that skipped it by decimation.
        """
        try:
            if self._file is None:
                return
            if final is not None:
                t, outs, ins = final
                for d in self._decimated:
                    if d.skipped == t:
                        d.skipped = math.nan
                        d.buffer.row(d.buffer.pos, t, outs, ins)
                        d.buffer.pos += d.buffer.row_bytes
            self.flush()
            try:
                self._write_progress({**(attrs or {}), "status": status})
                self._file.close()
                self._file = None
            except OSError as err:
                self._fail(err)
        finally:
            if self._claim is not None:
                self._claim.release()


def _reason(err: OSError) -> str:
    code = getattr(err, "errno", None)
    if code in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        import os

        return os.strerror(code)
    text = str(err)
    for code in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        if f"errno = {code}," in text:
            import os

            return os.strerror(code)
    return text.splitlines()[0] if text else type(err).__name__

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

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cosim import interrupts
from cosim.master import Master, Observer
from cosim.results.claim import OutputClaim
from cosim.results.failure import ResultsWriteError, detach, reason
from cosim.results.format import (
    FORMAT,
    PROGRESS,
    RUN_NUMBERS,
    RUN_TEXTS,
    OutputGroup,
    fixed_text,
    plain_or_json,
)
from cosim.results.rows import RowBuffer, chunk_rows
from cosim.results.sampling import Decimated, FastSampling, fast_entry
from cosim.unit import OUTPUT

BUFFER_BYTES = 8 * 2**20
FLUSH_SECONDS = 2.0


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
        self._decimated: list[Decimated] = []
        self._buffers: list[RowBuffer] = []
        self._events: list[tuple[float, str]] = []
        self._event_ds: tuple[Any, Any] | None = None
        self._events_written = 0
        self._points = 0
        self._t = math.nan
        self._created = False
        self._group_rows: list[RowBuffer] = []  # the buffer of each group, in the order of /progress
        self._t_flushed: float | None = None  # time of the last row of the last good flush [s]

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
        from cosim.results import layout

        if self._claim is None:
            self._claim = OutputClaim(self.path)
        self.t0, self._t = t0, t0
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        datasets, targets = self._plan(master)
        names = [e.name.encode() for e in getattr(master, "events", ())]
        # A signal while the file is being made would leave a file that no writer holds (status running
        # for good): it is acted on once the writer holds the file, and the run closes it as interrupted.
        with interrupts.held():
            try:
                f = layout.create(
                    self.path,
                    {"format": FORMAT, "start_time": t0, **self.metadata},
                    self.texts,
                    datasets,
                    self.compression,
                    max([len(n) for n in names] + [1]),
                )
            except OSError as err:
                raise ResultsWriteError(f"cannot create {self.path}: {reason(err)}") from None
            self._file = f
            for buf, name, column in targets:
                buf.add_target(f[name], column)
            self._event_ds = (f["events/time"], f["events/name"])
            self._progress_ds = f["progress"]
            self._created = True
        self._flush_due = time.monotonic() + self.flush_seconds

    def _plan(self, master: Master) -> tuple[list, list]:
        """The buffers, the datasets to create, and which buffer column fills which dataset."""
        from cosim.results.layout import DatasetSpec

        seen: set[str] = set()
        plans = []
        for spec in self.specs:
            signals = [s for s in spec.signals if s not in seen]
            seen.update(signals)
            plans.append((spec, [(sig, *master.locate(sig)) for sig in signals]))
        full = [loc for spec, located in plans if spec.at_every_point for loc in located]
        if any(spec.at_every_point for spec, _ in plans):
            self._fast = self._make_buffer(master, full, len(plans))
        datasets, targets = [], []
        for spec, located in plans:
            buf = self._fast if spec.at_every_point else self._make_buffer(master, located, len(plans))
            if not spec.at_every_point:
                self._decimated.append(Decimated(spec, buf))
            # block_rows: the rows a kill may lose at most (and about ``flush_seconds`` of a run's work).
            name = f"time/{spec.name}"
            block_rows = buf.cap // buf.row_bytes
            datasets.append(DatasetSpec(name, buf.chunk, {"unit": "s", "block_rows": block_rows}))
            targets.append((buf, name, 0))
            self._group_rows.append(buf)
            for sig, i, causality, pos in located:
                unit, _, port_name = sig.partition(".")
                port = master.port(sig)
                attrs = {
                    "unit": port.unit,
                    "causality": port.causality,
                    "description": port.description,
                    "time": f"/time/{spec.name}",
                    "type": port.type,
                }
                datasets.append(DatasetSpec(f"signals/{unit}/{port_name}", buf.chunk, attrs))
                targets.append((buf, f"signals/{unit}/{port_name}", buf.column(causality == OUTPUT, i, pos)))
        self._buffers = ([self._fast] if self._fast else []) + [d.buffer for d in self._decimated]
        return datasets, targets

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
        return [fast_entry(buf, self._check)]
    def _sample_decimated(self, d: Decimated, t: float, outs: list, ins: list) -> None:
        if not d.due(t):
            return
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
        except (OSError, RuntimeError) as err:  # h5py raises either for a failed write
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
            return buf.total_rows, buf.last_time()
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
        if final is None:
            self._t_flushed = t
        values["events"] = self._events_written
        numbers = [float(values[k]) for k in PROGRESS] + [float(b.total_rows) for b in self._group_rows]
        self._progress_ds[...] = np.asarray(numbers)
        attrs = self._file.attrs
        for key, value in values.items():
            if value is None:
                continue
            if key == "events":
                continue
            if key in RUN_NUMBERS:
                attrs.modify(key, RUN_NUMBERS[key](value))
            elif key in self.texts:
                text = str(plain_or_json(value))
                if not isinstance(value, str) and len(text.encode()) > self.texts[key]:
                    continue  # cut JSON would not parse: the value written before stands
                attrs.modify(key, fixed_text(text, self.texts[key]))
            else:
                raise ValueError(f"attribute {key!r} was not reserved when the file was created")

    def _fail(self, err: Exception) -> None:
        """Stop writing after an I/O error; what was flushed before stays readable."""
        kept = f"up to t = {self._t_flushed:g} s" if self._t_flushed is not None else "none"
        self._failed = ResultsWriteError(
            f"writing {self.path} failed: {reason(err)}; the rows flushed before ({kept}) are kept"
        )
        f, self._file = self._file, None
        detach(f)  # first: releasing a dataset flushes its chunk cache
        for buf in self._buffers:
            buf.targets.clear()
        self._event_ds = None
        try:
            f.close()
        except Exception:  # nothing reaches the file any more; what is on disk is what is kept
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
            except (OSError, RuntimeError) as err:
                self._fail(err)
        finally:
            if self._claim is not None:
                self._claim.release()

"""Rows of one time base in a preallocated array, appended to HDF5 datasets chunk by chunk.

A row is ``[t, *vector, *vector, ...]``: the time and whole value vectors (a unit's bound outputs
or inputs) packed as doubles with one :func:`struct.pack_into` call, which costs less than
keeping the vectors alive until a block is converted (and holds no Python objects for the
garbage collector to scan). Columns are picked out when the rows are written.

Writing keeps the file compact under SWMR (where HDF5 never reuses freed file space): whole
chunks go through the dataset's filters (compression); a chunk written before it is full is
stored raw with a direct chunk write and rewritten in place, at its full size, until it is full.
Rows of such a chunk stay in the buffer, so that each write is the chunk's whole content.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Rows between two looks at the clock (for flushing by time).
CHECK_ROWS = 256


class RowBuffer:
    """Preallocated rows for the datasets of one time base.

    Parameters
    ----------
    vectors : sequence of (is_output, slot index, width)
        The value vectors of a row, after the time.
    budget : int
        Bytes the buffer may hold (at least one chunk of rows).
    chunk : int
        Rows per HDF5 chunk of the datasets written from this buffer.
    """

    def __init__(self, vectors: Sequence[tuple[bool, int, int]], budget: int, chunk: int):
        self.vectors = list(vectors)
        self.offsets: dict[tuple[bool, int], int] = {}
        width = 1
        for is_out, i, n in self.vectors:
            self.offsets[(is_out, i)] = width
            width += n
        self.width = width
        self.row_bytes = 8 * width
        self.chunk = chunk
        rows = max(chunk, budget // self.row_bytes // chunk * chunk)
        self.array = np.zeros((rows, width))
        self.view = memoryview(self.array).cast("B")
        self.cap = rows * self.row_bytes
        self.check_bytes = min(CHECK_ROWS * self.row_bytes, self.cap)
        self.pack = struct.Struct(f"{width}d").pack_into
        self.pos = 0  # bytes filled
        self.next_check = self.check_bytes
        self.base = 0  # file row of buffer row 0, a multiple of ``chunk``
        self.on_disk = 0  # buffer rows already in the file (a chunk written before it was full)
        self.t_written = None  # time of the last row in the file [s]
        self.epoch = 0  # counts writes, so that a position handed out before one is known to be stale
        self.targets: list[tuple[Any, int, int]] = []  # (dataset, column, mask skipping its filters)
        self.row = self._row_function()

    def column(self, is_output: bool, i: int, pos: int) -> int:
        return self.offsets[(is_output, i)] + pos

    def _row_function(self):
        """``row(pos, t, outs, ins)``: pack one row at byte ``pos`` (generated: one call, no loop)."""
        args = "".join(f", *{'outs' if is_out else 'ins'}[{i}]" for is_out, i, _ in self.vectors)
        source = f"def row(pos, t, outs, ins):\n    pack(view, pos, t{args})\n"
        namespace = {"pack": self.pack, "view": self.view}
        exec(compile(source, "<cosim result row>", "exec"), namespace)  # indices only
        return namespace["row"]

    @property
    def rows(self) -> int:
        """Rows in the buffer (including those already in the file)."""
        return self.pos // self.row_bytes

    @property
    def total_rows(self) -> int:
        """Rows recorded so far, in the file or not."""
        return self.base + self.rows

    def last_time(self) -> float | None:
        """Time of the last row recorded [s], in the file or not."""
        n = self.rows
        return float(self.array[n - 1, 0]) if n else self.t_written

    def write(self) -> None:
        """Append the buffered rows to the datasets; keep those of a chunk that is not full yet.

        Nothing in the buffer changes until every dataset is written, so a write that an
        interrupt or an I/O error cuts short is simply done again.
        """
        n = self.rows
        if n <= self.on_disk:
            return
        chunk = self.chunk
        full = n // chunk
        total = self.base + n
        rows = self.array[:n]
        for ds, col, raw in self.targets:
            if ds.shape[0] < total:
                ds.resize((total,))
            first = 0
            if self.on_disk:  # a chunk begun raw is finished raw (rewriting it compressed would waste it)
                self._write_raw(ds, raw, rows[: min(chunk, n), col], 0)
                first = 1
            if full > first:
                a, b = first * chunk, full * chunk
                ds[self.base + a : self.base + b] = rows[a:b, col]
            if n > max(full, first) * chunk:
                start = max(full, first) * chunk
                self._write_raw(ds, raw, rows[start:n, col], start)
        kept = n - full * chunk
        self.t_written = float(rows[n - 1, 0])
        if full and kept:
            self.array[:kept] = self.array[full * chunk : n]
        self.base += full * chunk
        self.pos = kept * self.row_bytes
        self.on_disk = kept
        self.epoch += 1

    def add_target(self, ds: Any, column: int) -> None:
        """Write ``column`` of the rows to the 1-D dataset ``ds`` (chunked by ``self.chunk`` rows)."""
        self.targets.append((ds, column, (1 << ds.id.get_create_plist().get_nfilters()) - 1))

    def _write_raw(self, ds: Any, mask: int, values: np.ndarray, start: int) -> None:
        """One chunk, unfiltered and at its full size, so that later writes replace it in place."""
        data = np.zeros(self.chunk)
        data[: len(values)] = values
        ds.id.write_direct_chunk((self.base + start,), data.tobytes(), filter_mask=mask)


def chunk_rows(row_bytes: int, budget: int) -> int:
    """Rows per chunk: 4096 (32 KiB per dataset), fewer when the buffer would not hold two chunks."""
    rows = 4096
    while rows > 64 and 2 * rows * row_bytes > budget:
        rows //= 2
    return rows

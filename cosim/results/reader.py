"""Reading result files: finished ones, those of failed or killed runs, and those still being written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosim.results.format import FORMAT, STATUS_RUNNING


@dataclass
class Signal:
    """One recorded signal: values, the time base they share with their group, and port facts."""

    name: str
    values: np.ndarray
    time: np.ndarray
    unit: str
    causality: str
    description: str
    group: str


@dataclass
class Result:
    """A run read back from HDF5."""

    path: Path
    attrs: dict[str, Any]
    signals: dict[str, Signal] = field(default_factory=dict)
    times: dict[str, np.ndarray] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    #: True while a run is writing the file (it holds the file's claim).
    being_written: bool = False

    def __getitem__(self, name: str) -> Signal:
        try:
            return self.signals[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self.signals, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"{self.path} has no signal {name!r}{hint}") from None

    @property
    def status(self) -> str:
        return str(self.attrs.get("status", ""))

    @property
    def rows(self) -> int:
        """Rows of the longest time base."""
        return max((len(t) for t in self.times.values()), default=0)

    @property
    def unfinished(self) -> bool:
        """True for the file of a run that ended without closing it (killed, crashed)."""
        return self.status == STATUS_RUNNING and not self.being_written

    def describe(self) -> str:
        """How the run that wrote the file ended, in words."""
        if self.status == STATUS_RUNNING:
            if self.being_written:
                return "a run still writing it (status 'running')"
            return (
                "a run that ended without closing it, killed or crashed (status 'running'; "
                "its rows up to the last flush are kept)"
            )
        return f"status {self.status!r}" if self.status else "no status"

    def json_attr(self, key: str, default: Any = None) -> Any:
        """A root attribute stored as JSON, decoded."""
        if key not in self.attrs:
            return default
        return json.loads(self.attrs[key])


def open_result_file(path: Path):
    """Open for reading; also files being written (SWMR) and those a killed writer left open."""
    import h5py

    try:
        return h5py.File(path, "r", swmr=True, locking=False)
    except OSError as swmr_error:
        try:
            return h5py.File(path, "r", locking=False)
        except OSError:
            raise swmr_error from None


def read_result(path: str | Path) -> Result:
    """Read a result file (also one left by a crashed or interrupted run, or one being written).

    Raises
    ------
    EvtwinError
        When the file is missing or is not an evtwin result.
    """
    from cosim.errors import EvtwinError
    from cosim.results.claim import being_written

    path = Path(path)
    if path.is_dir():
        raise EvtwinError(f"{str(path)!r} is a folder, not a result file")
    if not path.is_file():
        raise EvtwinError(f"result file {str(path)!r} does not exist")
    writing = being_written(path)
    try:
        f = open_result_file(path)
    except OSError as err:
        raise EvtwinError(f"{path}: not a readable HDF5 file ({_first_line(err)})") from None
    with f:
        # Reserved attributes not set yet are empty strings: leave them out.
        attrs = {k: v for k, v in ((k, _plain(v)) for k, v in f.attrs.items()) if v != ""}
        if attrs.get("format") != FORMAT:
            raise EvtwinError(
                f"{path}: not an evtwin result (format attribute {attrs.get('format')!r}, "
                f"expected {FORMAT!r})"
            )
        result = Result(path, attrs, being_written=writing)
        _read_rows(f, result)
    return result


def _read_progress(f: Any, result: Result) -> dict[str, int]:
    """The progress written after the last complete flush: attributes and rows per group."""
    if "progress" not in f:
        return {}
    fields = [_plain(x) for x in f["progress"].attrs["fields"]]
    values = dict(zip(fields, (float(v) for v in f["progress"][()]), strict=True))
    for key in ("end_time", "wall_time", "cpu_time", "real_time_factor"):
        result.attrs[key] = values[key]
    result.attrs["steps"] = int(values["steps"])
    result.attrs["_events"] = int(values["events"])
    return {k.partition(":")[2]: int(v) for k, v in values.items() if k.startswith("rows:")}


def _read_rows(f: Any, result: Result) -> None:
    committed = _read_progress(f, result)
    columns: dict[str, list[tuple[str, Any]]] = {}
    for unit, grp in f.get("signals", {}).items():
        for port, ds in grp.items():
            gname = str(_plain(ds.attrs["time"])).rsplit("/", 1)[-1]
            columns.setdefault(gname, []).append((f"{unit}.{port}", ds))
    for gname, ds in f.get("time", {}).items():
        cols = columns.get(gname, [])
        # The datasets of a group grow one after the other: a reader (or a kill) between two of
        # them sees some longer than others. Rows are those every column has.
        n = min([ds.shape[0]] + [c.shape[0] for _, c in cols])
        # Rows past the last complete flush may have been cut short by a kill or a full disk.
        n = min(n, committed.get(gname, n))
        time = ds[:n]
        result.times[gname] = time
        for name, c in cols:
            result.signals[name] = Signal(
                name,
                c[:n],
                time,
                str(_plain(c.attrs["unit"])),
                str(_plain(c.attrs["causality"])),
                str(_plain(c.attrs["description"])),
                gname,
            )
    if "events" in f:
        n = min(f["events/time"].shape[0], f["events/name"].shape[0], result.attrs.pop("_events", 1 << 62))
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in f["events/name"][:n]]
        result.events = list(zip((float(t) for t in f["events/time"][:n]), names, strict=True))


def _first_line(err: Exception) -> str:
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value

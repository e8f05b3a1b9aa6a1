"""An FMU in a child process of its own (``isolate: true``): its crash is an error, not evtwin's end.

A third-party binary that segfaults takes its host process with it. :class:`IsolatedFMU` runs the
FMU (through the same :class:`~cosim.fmu.adapter.FMUUnit`) in a child Python process, one per
instance, and talks to it over a socket pair: a macro step is one round trip of packed doubles
(inputs and ``t, h`` out, outputs back), every other call a pickled request. When the child
dies, the next call raises a :class:`~cosim.errors.SimulationError` naming the unit, the time, the
signal and the FMU's last log lines; the master then ends the run as after any unit failure,
and the result file keeps every point recorded so far.

The FMU's log is relayed: the child writes each message to its stderr, and a thread here passes
each line on to the ``cosim.fmu`` logger and keeps the last ones for the crash report.

Costs: a round trip per step (``benchmarks/bench_isolation.py`` measures it against the
in-process adapter). Values cross exactly: reals as float64, integer ports as 64-bit integers (checked
against their type's range here, as the in-process adapter checks them). Rollback works as in-process
where the FMU can save its state (``canGetAndSetFMUstate``): the states stay in the child, the parent
holds keys to them (:class:`IsolatedState`), and a key no longer referenced frees its state in the
child with the next save.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cosim
from cosim.errors import FMUFileError, ScenarioError, SimulationError, UnitEnded
from cosim.fmu.child import CALL, ERR, GET, STEP
from cosim.fmu.description import UnknownNameError, ports_with_units, read_description
from cosim.fmu.step_calls import integer_guard, to_wire, wire_codes
from cosim.unit import Port, Unit

_log = logging.getLogger("cosim.fmu")

#: Seconds the child gets to finish after ``terminate`` before it is killed.
EXIT_TIMEOUT = 10.0

_RERAISE = {"KeyError": UnknownNameError, "ValueError": ValueError, "RuntimeError": RuntimeError,
            "NotImplementedError": NotImplementedError}  # fmt: skip


class IsolatedState:
    """A saved FMU state, kept in the child process of ``unit`` under ``key``."""

    __slots__ = ("unit", "key", "__weakref__")

    def __init__(self, unit: IsolatedFMU, key: int):
        self.unit, self.key = unit, key


class IsolatedFMU(Unit):
    """An FMI 2.0 or 3.0 co-simulation FMU run in a child process; same parameters as :class:`FMUUnit`.

    Raises
    ------
    FMUFileError
        As :class:`FMUUnit` does, read here before the child starts.
    """

    def __init__(
        self,
        path: str | Path,
        name: str,
        *,
        workdir: str | Path | None = None,
        validate: bool = True,
        debug_logging: bool = False,
        port_units: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.path = Path(path)
        self.description = read_description(self.path, validate=validate)
        try:
            self._ports = ports_with_units(self.description, port_units or {})
        except ValueError as err:
            raise FMUFileError(str(self.path), f"unit {name!r}: port_units: {err}") from None
        self.can_vary_step = self.description.can_vary_step
        self.can_save_state = self.description.can_save_state
        self._fmi3 = self.description.fmi_version.startswith("3.")
        self._next_key = 0
        self._freed: list[int] = []  # keys of states nothing refers to any more: freed with the next save
        self._t = None  # the time of the step under way, for the crash report
        self._metadata: dict[str, str] | None = None
        self._outs: list[float] | None = None
        self._ins: bytes = b""
        self._out_format = struct.Struct("<0d")
        self._recent: deque[str] = deque(maxlen=20)
        self._proc, self._conn = self._start()
        options = {"workdir": workdir, "validate": validate, "debug_logging": debug_logging,
                   "port_units": dict(port_units) if port_units else None}  # fmt: skip
        self._request("open", (str(self.path), name, options))

    def __repr__(self) -> str:
        return f"IsolatedFMU({str(self.path)!r}, {self.name!r})"

    # ---- the child ------------------------------------------------------------------------

    def _start(self) -> tuple[subprocess.Popen, Connection]:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        root = str(Path(cosim.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from cosim.fmu.child import main; main()", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        finally:
            theirs.close()
        threading.Thread(target=self._relay, args=(proc.stderr,), daemon=True).start()
        return proc, Connection(ours.detach())

    def _relay(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            self._recent.append(line)
            level = logging.WARNING if "[WARNING]" in line or "Traceback" in line else logging.DEBUG
            if "[ERROR]" in line or "[FATAL]" in line:
                level = logging.INFO  # the error itself reaches the user in the raised exception
            _log.log(level, "%s", line)  # the child's lines start with the unit's name
        stream.close()

    def _died(self, what: str) -> SimulationError:
        """The error for a child that is gone: its signal or exit status and its last words."""
        try:
            rc = self._proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            rc = self._proc.wait()
        self._close_conn()
        if rc < 0:
            try:
                how = f"was killed by signal {signal.Signals(-rc).name}"
            except ValueError:
                how = f"was killed by signal {-rc}"
        else:
            how = f"exited with status {rc}"
        tail = "\n".join(list(self._recent)[-5:])
        return SimulationError(
            f"the FMU's process (isolate: true) {how} during {what}; the results up to here are kept"
            + (f"; its last log lines:\n{tail}" if tail else ""),
            self.name,
            self._t,
        )

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _exchange(self, message: bytes, what: str) -> bytes:
        if self._conn is None:
            raise RuntimeError(f"unit {self.name!r} was terminated")
        try:
            self._conn.send_bytes(message)
            reply = self._conn.recv_bytes()
        except (EOFError, OSError):
            raise self._died(what) from None
        if reply[:1] == ERR:
            _raise(pickle.loads(reply[1:]))
        return reply[1:]

    def _request(self, method: str, args: tuple = ()) -> Any:
        return pickle.loads(self._exchange(CALL + pickle.dumps((method, args)), method))

    # ---- the unit protocol ----------------------------------------------------------------

    def ports(self) -> Sequence[Port]:
        return self._ports

    def metadata(self) -> dict[str, str]:
        # Asked again when the run ends, possibly after the child has gone (terminated, or crashed): the
        # FMU's own facts do not change, so the last answer stands in.
        try:
            self._metadata = self._request("metadata")
        except Exception:
            if self._metadata is None:
                raise
        return {**self._metadata, "type": type(self).__name__, "isolated": "child process"}

    def configure(self, parameters: Mapping[str, Any]) -> None:
        self._request("configure", (dict(parameters),))

    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        self._request("bind", (list(inputs), list(outputs)))  # the child checks the names
        variables = {v.name: v for v in self.description.variables}
        ins = [variables[n] for n in inputs]
        self._in_format = struct.Struct("<" + wire_codes(ins, self._fmi3))
        self._out_format = struct.Struct("<" + wire_codes([variables[n] for n in outputs], self._fmi3))
        self._check_ints = integer_guard(ins, self._fmi3, self.name)
        self._to_wire = to_wire(ins, self._fmi3)
        self._ins = self._in_format.pack(*self._to_wire([0] * len(inputs)))

    def setup(self, start_time: float) -> None:
        self._t = start_time
        self._request("setup", (start_time,))
        self._outs = None

    def end_initialization(self) -> None:
        self._request("end_initialization")

    def set_inputs(self, values: Sequence[float]) -> None:
        self._check_ints(values)
        self._ins = self._in_format.pack(*self._to_wire(values))
        self._outs = None

    def get_outputs(self) -> Sequence[float]:
        if self._outs is None:  # inputs changed without a step (initialisation): ask the child
            self._outs = list(self._out_format.unpack(self._exchange(GET + self._ins, "get_outputs")))
        return self._outs

    def do_step(self, t: float, h: float) -> None:
        self._t = t
        reply = self._exchange(STEP + struct.pack("<dd", t, h) + self._ins, "do_step")
        self._outs = list(self._out_format.unpack(reply))

    def initial_dependencies(self):
        """The FMU's ``InitialUnknowns``: which inputs each initial output depends on (None: not declared)."""
        return self.description.initial_dependencies

    def save_state(self) -> IsolatedState:
        """Snapshot the FMU in the child; see :meth:`restore_state`."""
        if not self.can_save_state:
            raise NotImplementedError(
                f"unit {self.name!r}: FMU {self.description.model_name!r} cannot save its "
                "state (canGetAndSetFMUstate is false): no rollback with this unit"
            )
        key, self._next_key = self._next_key, self._next_key + 1
        freed, self._freed = self._freed, []
        self._request("save_state", (key, freed))
        state = IsolatedState(self, key)
        weakref.finalize(state, self._freed.append, key)  # only noted: a message now could cut into a step
        return state

    def restore_state(self, state: IsolatedState) -> None:
        """Return the FMU to a snapshot from :meth:`save_state` of this unit."""
        if not isinstance(state, IsolatedState) or state.unit is not self:
            raise ValueError(f"unit {self.name!r}: not a state saved by this unit")
        reply = self._exchange(CALL + pickle.dumps(("restore_state", (state.key,))), "restore_state")
        self._outs = list(self._out_format.unpack(reply))

    def terminate(self) -> None:
        """Terminate the FMU in the child, then end the child. Safe to call more than once."""
        if self._conn is None:
            return
        try:
            self._request("terminate")
            self._request("exit")
        except SimulationError as err:
            _log.warning("%s", err)
        finally:
            self._close_conn()
            try:
                self._proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __del__(self):
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            self._close_conn()  # end of input ends the child


def _raise(data: tuple) -> None:
    kind, message, extra = data
    if kind == "ended":
        raise UnitEnded(*extra)
    if kind == "scenario":
        raise ScenarioError(list(extra))
    if kind in _RERAISE:
        raise _RERAISE[kind](message)
    raise SimulationError(message)

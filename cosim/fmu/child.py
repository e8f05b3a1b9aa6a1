"""The child process of an isolated FMU (``isolate: true``): one :class:`FMUUnit`, driven over a socket.

Started by :class:`~cosim.fmu.isolated.IsolatedFMU` (``python -c "...child import main; main()" FD``).
The step loop's messages are packed values (:mod:`struct`: float64, and 64-bit integers for integer
ports, so every value crosses exactly), one round trip per macro step; everything else is pickled.
Saved FMU states stay here, under keys the parent holds (:meth:`IsolatedFMU.save_state`). The FMU's
log goes to stderr, one message per line, where the parent relays it.
Nothing here outlives the parent: end of input ends the child.
"""

from __future__ import annotations

import logging
import pickle
import struct
import sys
from multiprocessing.connection import Connection

from cosim.errors import EvtwinError, ScenarioError, UnitEnded

STEP, GET, CALL = b"S", b"G", b"C"
OUT, ERR = b"O", b"E"


def error_message(err: BaseException) -> bytes:
    """An exception as the parent re-raises it: ``(kind, message, extra)``, pickled."""
    if isinstance(err, UnitEnded):
        data = ("ended", str(err), (err.unit, err.t, err.reason))
    elif isinstance(err, ScenarioError):
        data = ("scenario", str(err), tuple(err.problems))
    elif isinstance(err, EvtwinError):
        data = ("simulation", str(err), None)
    elif isinstance(err, KeyError | ValueError | RuntimeError | NotImplementedError):
        data = (type(err).__name__, str(err), None)
    else:
        data = ("other", f"{type(err).__name__}: {err}", None)
    return ERR + pickle.dumps(data)


def wire_formats(unit) -> tuple[struct.Struct, struct.Struct]:
    """The packing of a bound unit's inputs and outputs (:func:`~cosim.fmu.step_calls.wire_codes`)."""
    from cosim.fmu.step_calls import wire_codes

    fmi3 = unit.description.fmi_version.startswith("3.")
    return (
        struct.Struct("<" + wire_codes(unit._inputs, fmi3)),
        struct.Struct("<" + wire_codes(unit._outputs, fmi3)),
    )


class _Child:
    """The FMU unit of this process and what the parent's messages need: the packing, the saved states."""

    def __init__(self):
        self.unit = None
        self.in_format = self.out_format = struct.Struct("<0d")
        self.states: dict[int, object] = {}  # saved FMU states, by the key the parent holds

    def outputs(self) -> bytes:
        return OUT + self.out_format.pack(*self.unit.get_outputs())

    def step(self, kind: bytes, msg: bytes) -> bytes:
        if self.in_format.size:
            self.unit.set_inputs(self.in_format.unpack_from(msg, 17 if kind == STEP else 1))
        if kind == STEP:
            t, h = struct.unpack_from("<dd", msg, 1)
            self.unit.do_step(t, h)
        return self.outputs()

    def call(self, method: str, args: tuple) -> bytes:
        if method == "open":
            from cosim.fmu.adapter import FMUUnit

            path, name, options = args
            self.unit = FMUUnit(path, name, **options)
            return OUT + pickle.dumps(None)
        if method == "save_state":
            key, freed = args
            for old in freed:
                self.states.pop(old, None)
            self.states[key] = self.unit.save_state()
            return OUT + pickle.dumps(None)
        if method == "state_count":  # how many saved states the child holds
            return OUT + pickle.dumps(len(self.states))
        if method == "restore_state":
            self.unit.restore_state(self.states[args[0]])
            return self.outputs()
        result = getattr(self.unit, method)(*args)
        if method == "bind":
            self.in_format, self.out_format = wire_formats(self.unit)
        return OUT + pickle.dumps(dict(result) if method == "metadata" else result)


def serve(conn: Connection) -> None:
    """Answer the parent's requests until it closes the connection or says ``exit``."""
    child = _Child()
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        kind = msg[:1]
        try:
            if kind == STEP or kind == GET:
                conn.send_bytes(child.step(kind, msg))
                continue
            method, args = pickle.loads(msg[1:])
            if method == "exit":
                conn.send_bytes(OUT + pickle.dumps(None))
                return
            conn.send_bytes(child.call(method, args))
        except Exception as err:  # every failure goes back to the parent, which raises it there
            conn.send_bytes(error_message(err))


def main() -> None:
    logging.basicConfig(stream=sys.stderr, format="%(message)s")
    # The FMU's messages, all of them: the parent decides what to show.
    logging.getLogger("cosim.fmu").setLevel(logging.DEBUG)
    conn = Connection(int(sys.argv[1]))
    try:
        serve(conn)
    finally:
        unit_log = logging.getLogger("cosim.fmu")
        unit_log.handlers.clear()


if __name__ == "__main__":
    main()

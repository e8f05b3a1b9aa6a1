"""The child process of an isolated FMU (``isolate: true``): one :class:`FMUUnit`, driven over a socket.

Started by :class:`~cosim.fmu.isolated.IsolatedFMU` (``python -c "...child import main; main()" FD``).
The step loop's messages are packed doubles (:mod:`struct`), one round trip per macro step; everything
else is pickled. The FMU's log goes to stderr, one message per line, where the parent relays it.
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


def serve(conn: Connection) -> None:
    """Answer the parent's requests until it closes the connection or says ``exit``."""
    unit = None
    n_in = 0
    out_format = struct.Struct("<0d")
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        kind = msg[:1]
        try:
            if kind == STEP or kind == GET:
                if n_in:
                    unit.set_inputs(struct.unpack_from(f"<{n_in}d", msg, 17 if kind == STEP else 1))
                if kind == STEP:
                    t, h = struct.unpack_from("<dd", msg, 1)
                    unit.do_step(t, h)
                conn.send_bytes(OUT + out_format.pack(*unit.get_outputs()))
                continue
            method, args = pickle.loads(msg[1:])
            if method == "open":
                from cosim.fmu.adapter import FMUUnit

                path, name, options = args
                unit = FMUUnit(path, name, **options)
                result = None
            elif method == "exit":
                conn.send_bytes(OUT + pickle.dumps(None))
                return
            else:
                result = getattr(unit, method)(*args)
                if method == "bind":
                    n_in = len(args[0])
                    out_format = struct.Struct(f"<{len(args[1])}d")
                if method == "metadata":
                    result = dict(result)
            conn.send_bytes(OUT + pickle.dumps(result))
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

"""SIGINT, SIGTERM and SIGHUP as one kind of interruption during a run.

Inside :func:`catching`, each of the three raises :class:`KeyboardInterrupt` in the main thread
and is remembered, so that a run can tell an interruption that surfaced as something else (a
Python FMU catches the KeyboardInterrupt raised inside it and reports an FMU error) from a real
failure. Outside the main thread nothing is installed (Python delivers signals to the main
thread only).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

_received: list[int] = []


def received() -> int | None:
    """The first signal caught by the innermost :func:`catching`, or None."""
    return _received[0] if _received else None


def _raise(signum: int, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def catching() -> Iterator[None]:
    """Turn the three signals into KeyboardInterrupt for the duration, remembering which came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = [(s, signal.signal(s, _raise)) for s in SIGNALS]
    outer = list(_received)
    _received.clear()
    try:
        yield
    finally:
        for s, handler in saved:
            signal.signal(s, handler)
        _received[:] = outer


@contextmanager
def deferred() -> Iterator[None]:
    """Only remember the three signals for the duration (while a run closes its file: it is ending)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = [(s, signal.signal(s, lambda signum, frame: _received.append(signum))) for s in SIGNALS]
    try:
        yield
    finally:
        for s, handler in saved:
            signal.signal(s, handler)


@contextmanager
def held() -> Iterator[None]:
    """Hold the three signals for the duration and act on the first that came once it is over, as
    :func:`catching` would have (a file being created comes out whole, so that the run can close it
    as interrupted). Outside :func:`catching` nothing changes."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not _raise:
        yield
        return
    before = len(_received)
    with deferred():
        yield
    if len(_received) > before:
        raise KeyboardInterrupt(signal.Signals(_received[before]).name)

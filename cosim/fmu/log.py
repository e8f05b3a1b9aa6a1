"""Where an FMU's log messages go: a bounded ring buffer per instance, and Python ``logging``.

The ring buffer is what an :class:`~cosim.errors.FMUCallError` quotes when a call fails; it is
the only way a pythonfmu FMU's Python traceback reaches the host.

FMI 2.0 loggers are variadic C functions, which ctypes cannot receive. fmpy solves that with a
native proxy (``fmpy.logging.addLoggerProxy``) that formats the message and forwards it to ONE
process-wide Python callback: the one registered last. So every FMI 2.0 instance here is
registered with the same dispatcher, and each instance gets its own ``componentEnvironment``
number, which the FMU hands back with every message, to find its buffer. FMI 3.0 loggers take a
formatted string and are per instance; they feed the same buffers.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from threading import Lock

_log = logging.getLogger("cosim.fmu")

STATUS_NAMES = ("OK", "WARNING", "DISCARD", "ERROR", "FATAL", "PENDING")
# Error and fatal messages reach the user inside the FMUCallError raised for the failed call;
# logging them at ERROR as well would print them twice.
_LEVELS = (logging.DEBUG, logging.WARNING, logging.WARNING, logging.INFO, logging.INFO, logging.INFO)

#: Messages kept per instance for error reports.
RING_SIZE = 64


def _text(raw) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


class LogBuffer:
    """The recent log messages of one FMU instance.

    Parameters
    ----------
    unit_name : str
        The instance name, used as the prefix in Python logging.
    size : int
        How many messages to keep.
    """

    def __init__(self, unit_name: str, size: int = RING_SIZE):
        self.unit_name = unit_name
        self._lines: deque[str] = deque(maxlen=size)
        #: Error and fatal messages logged so far.
        self.errors = 0

    def add(self, status: int, category, message) -> None:
        text = _text(message).rstrip()
        label = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
        category = _text(category)
        line = f"[{label}] {category + ': ' if category else ''}{text}"
        self._lines.append(line)
        if status >= 3:
            self.errors += 1
        level = _LEVELS[status] if 0 <= status < len(_LEVELS) else logging.ERROR
        if _log.isEnabledFor(level):
            _log.log(level, "%s: %s", self.unit_name, line)

    def recent(self, n: int = 20) -> str:
        """The last ``n`` messages, one per line (multi-line messages stay whole)."""
        return "\n".join(list(self._lines)[-n:])

    def clear(self) -> None:
        self._lines.clear()


# ---- FMI 2.0: one dispatcher for the process ------------------------------------------------

_sinks: dict[int, LogBuffer] = {}
_ids = itertools.count(1)
_lock = Lock()
_fmi2_logger = None  # the ctypes callback object; kept alive for the life of the process


def _dispatch_fmi2(env, instance_name, status, category, message) -> None:
    sink = _sinks.get(env or 0)
    if sink is None:  # an instance created elsewhere (plain fmpy) in this process
        sink = LogBuffer(_text(instance_name) or "fmu", size=1)
    sink.add(status, category, message)


def fmi2_callbacks(buffer: LogBuffer):
    """An ``fmi2CallbackFunctions`` struct whose messages land in ``buffer``.

    Returns
    -------
    (callbacks, env_id)
        Keep ``callbacks`` alive as long as the instance; pass ``env_id`` to :func:`release`.
    """
    global _fmi2_logger
    from ctypes import byref, c_void_p, cast

    from fmpy import calloc, free
    from fmpy.fmi2 import (
        fmi2CallbackAllocateMemoryTYPE,
        fmi2CallbackFreeMemoryTYPE,
        fmi2CallbackFunctions,
        fmi2CallbackLoggerTYPE,
    )
    from fmpy.logging import addLoggerProxy

    with _lock:
        if _fmi2_logger is None:
            _fmi2_logger = fmi2CallbackLoggerTYPE(_dispatch_fmi2)
        env_id = next(_ids)
        _sinks[env_id] = buffer
    callbacks = fmi2CallbackFunctions()
    callbacks.logger = _fmi2_logger
    # Pointers straight to the C library's calloc and free: wrapping the ctypes functions instead
    # would route every allocation of the FMU through Python.
    callbacks.allocateMemory = fmi2CallbackAllocateMemoryTYPE(cast(calloc, c_void_p).value)
    callbacks.freeMemory = fmi2CallbackFreeMemoryTYPE(cast(free, c_void_p).value)
    callbacks.componentEnvironment = c_void_p(env_id)
    # Swaps in the native formatting proxy and points fmpy's process-wide target at the dispatcher
    # (again: anything else in the process may have registered its own since).
    addLoggerProxy(byref(callbacks))
    return callbacks, env_id


def release(env_id: int) -> None:
    """Forget the buffer registered under ``env_id`` (after the instance is freed)."""
    with _lock:
        _sinks.pop(env_id, None)


def fmi3_logger(buffer: LogBuffer):
    """A Python callable for fmpy's ``FMU3Slave.instantiate(logMessage=...)``."""

    def log_message(env, status, category, message) -> None:
        buffer.add(status, category, message)

    return log_message

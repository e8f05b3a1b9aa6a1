"""The FMI side of one FMU unit: the loaded library, the instance, its saved states and its files.

Kept apart from the unit adapter (:mod:`cosim.fmu.adapter`) so that finalizers can release these
resources without keeping the unit alive, and so that the order of release (states, terminate, free,
unload, delete) is written in one place.
"""

from __future__ import annotations

import logging
import shutil
from ctypes import c_void_p

from cosim.fmu.description import FMUDescription
from cosim.fmu.log import release
from cosim.fmu.python_modules import forget_modules_under

_log = logging.getLogger("cosim.fmu")


class FMUState:
    """A saved state of one :class:`FMUUnit` (opaque).

    Valid until the unit terminates; the FMU's memory for it is freed when the object is
    garbage-collected or the unit terminates, whichever comes first.
    """

    __slots__ = ("_instance", "_key", "__weakref__")

    def __init__(self, instance: Instance, key: int):
        self._instance, self._key = instance, key


class Instance:
    """The FMI-side resources of one unit: the loaded library, the instance, saved states, files.

    Kept apart from :class:`FMUUnit` so that finalizers can release them without keeping the
    unit alive.
    """

    def __init__(self, slave, unzipdir: str, *, fmi3: bool, embeds_python: bool, keep_files: bool = False):
        self.slave = slave
        self.keep_files = keep_files  # a folder the process's instances share (cosim.fmu.extraction)
        self.fmi3 = fmi3
        self.embeds_python = embeds_python
        self.unzipdir = unzipdir
        self.component = None
        self.callbacks = None  # FMI 2.0 callback struct: must outlive the instance
        self.env_id: int | None = None
        self.initialized = False
        self.failed = False  # an error status: terminate is not allowed any more
        self.fatal = False  # a fatal status: only freeing the instance is
        self.closed = False
        self.states: dict[int, c_void_p] = {}
        self._next_key = 0

    def add_state(self, pointer: c_void_p) -> int:
        self._next_key += 1
        self.states[self._next_key] = pointer
        return self._next_key

    def free_state(self, key: int) -> None:
        pointer = self.states.pop(key, None)
        if pointer is None or self.closed or self.component is None:
            return
        try:
            self.slave.freeFMUState(pointer)
        except Exception as err:  # a finalizer must not raise
            _log.warning("freeing a saved FMU state failed: %s", err)

    def close(self) -> None:
        """Terminate and free the instance, unload the library, delete the extracted files. Once."""
        if self.closed:
            return
        try:
            for key in list(self.states):
                self.free_state(key)
            self.closed = True
            if self.component is not None:
                if self.initialized and not self.failed:
                    try:
                        self.slave.terminate()
                    except Exception as err:
                        _log.warning("%s: terminate failed: %s", self.slave.instanceName, err)
                if self.fatal and self.embeds_python:
                    # pythonfmu 0.7 releases its Python objects when it reports a fatal error and
                    # again when the instance is freed; freeing it would corrupt the interpreter.
                    # The failed instance is left allocated instead.
                    _log.debug(
                        "%s: not freeing a pythonfmu instance after a fatal error", self.slave.instanceName
                    )
                elif self.fmi3:
                    self.slave.fmi3FreeInstance(self.component)
                else:
                    self.slave.fmi2FreeInstance(self.component)
            self.slave.freeLibrary()
        finally:
            self.closed = True
            if self.env_id is not None:
                release(self.env_id)
            if not self.keep_files:
                shutil.rmtree(self.unzipdir, ignore_errors=True)
                if self.embeds_python:
                    try:
                        forget_modules_under(self.unzipdir)
                    except Exception as err:  # a finalizer must not raise
                        _log.warning("forgetting the modules of %s failed: %s", self.unzipdir, err)


def embeds_python(description: FMUDescription) -> bool:
    """FMUs that run their model in this process's Python interpreter (pythonfmu exports)."""
    return description.generation_tool.lower().startswith("pythonfmu")

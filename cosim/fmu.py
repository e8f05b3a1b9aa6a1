"""FMUs as units: FMI 2.0 and 3.0 co-simulation FMUs through fmpy.

:class:`FMUUnit` implements the :class:`~cosim.unit.Unit` protocol over fmpy's ``FMU2Slave`` and
``FMU3Slave``. The step loop calls the FMU's C functions directly with value-reference and value
buffers prepared by :meth:`FMUUnit.bind`, so a step costs one set, one doStep and one get call
and little else (``benchmarks/bench_fmu_adapter.py`` measures it against a bare fmpy loop).

Every other FMI call goes through one choke point that turns a failed status into
:class:`~cosim.errors.FMUCallError` with the FMU's recent log messages (:mod:`cosim.fmu_log`).

Each instance extracts the FMU into a directory of its own (parallel workers extracting FMUs of
the same name into one place overwrite each other's binaries, fmpy #577) and removes it in
:meth:`FMUUnit.terminate`; a batch worker that runs many scenarios one after the other calls
:func:`share_extractions` to extract each FMU once per process instead. fmpy is not thread-safe: use one unit per thread at most, and
processes for parallel runs.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from ctypes import byref, c_bool, c_double, c_size_t, c_uint, c_void_p
from pathlib import Path
from typing import Any

from cosim.errors import FMUCallError, FMUFileError, SimulationError
from cosim.fmu_description import (
    DeclaredUnit,
    FMUDescription,
    UnknownNameError,
    Variable,
    file_sha256,
    read_description,
    settable_value,
    unknown_name_message,
    unknown_units,
)
from cosim.fmu_log import LogBuffer, fmi2_callbacks, fmi3_logger, release
from cosim.unit import INPUT, PARAMETER, Port, Unit

__all__ = [
    "DeclaredUnit",
    "FMUDescription",
    "FMUState",
    "FMUUnit",
    "Variable",
    "read_description",
    "unknown_units",
]

_log = logging.getLogger("cosim.fmu")

# FMI statuses: 0 OK, 1 warning, 2 discard, 3 error, 4 fatal. Above warning, a call has failed.
_ERROR, _FATAL = 3, 4


class FMUState:
    """A saved state of one :class:`FMUUnit` (opaque).

    Valid until the unit terminates; the FMU's memory for it is freed when the object is
    garbage-collected or the unit terminates, whichever comes first.
    """

    __slots__ = ("_instance", "_key", "__weakref__")

    def __init__(self, instance: _Instance, key: int):
        self._instance, self._key = instance, key


class _Instance:
    """The FMI-side resources of one unit: the loaded library, the instance, saved states, files.

    Kept apart from :class:`FMUUnit` so that finalizers can release them without keeping the
    unit alive.
    """

    def __init__(self, slave, unzipdir: str, *, fmi3: bool, embeds_python: bool, keep_files: bool = False):
        self.slave = slave
        self.keep_files = keep_files  # the folder is shared by the process's instances (share_extractions)
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


#: FMU file (path, mtime, size) -> its folder, while this process shares extractions; None: it does not.
_SHARED: dict[tuple[str, int, int], str] | None = None


def share_extractions() -> None:
    """From now on extract each FMU file once in this process; later instances load from that folder.

    For batch workers that run many scenarios in turn. The folders go when the process exits.
    """
    global _SHARED
    if _SHARED is None:
        import atexit

        _SHARED = {}
        atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _SHARED.values()])


def _shared_folder(path: Path) -> str | None:
    """The shared extraction of ``path`` (made on first use), or None when extractions are not shared."""
    if _SHARED is None:
        return None
    import fmpy

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    folder = _SHARED.get(key)
    if folder is None:
        folder = tempfile.mkdtemp(prefix=f"evtwin-shared-{path.stem[:40]}-")
        fmpy.extract(str(path), folder)
        _SHARED[key] = folder
    return folder


def _embeds_python(description: FMUDescription) -> bool:
    """FMUs that run their model in this process's Python interpreter (pythonfmu exports)."""
    return description.generation_tool.lower().startswith("pythonfmu")


def _drops_errors_unless_logging(description: FMUDescription) -> bool:
    """FMUs that report nothing, errors included, while logging is off.

    pythonfmu's C++ wrapper is one: without it a Python exception in the model shows up only as a
    bare error status.
    """
    return _embeds_python(description)


class FMUUnit(Unit):
    """An FMI 2.0 or 3.0 co-simulation FMU as a unit.

    Parameters
    ----------
    path : str or Path
        The .fmu file.
    name : str
        Instance name (the scenario's name for the unit); used in messages and as FMI instance name.
    workdir : str or Path, optional
        Folder for the extracted FMU (a fresh subfolder per instance); the system temp folder by default.
    validate : bool
        Validate the model description with fmpy first (turn off for slightly non-compliant exports).
    debug_logging : bool
        Switch the FMU's debug logging on. Messages go to the ``cosim.fmu`` logger and to the
        error reports. FMUs known to drop even their error messages without it (pythonfmu) get
        it switched on regardless.

    Raises
    ------
    FMUFileError
        When the file is not a usable FMU (see :func:`read_description`) or its binary cannot be loaded.

    Notes
    -----
    ``can_save_state`` and ``can_vary_step`` come from the FMU's ``canGetAndSetFMUstate`` and
    ``canHandleVariableCommunicationStepSize``. ``description`` holds everything else it declares.
    """

    def __init__(
        self,
        path: str | Path,
        name: str,
        *,
        workdir: str | Path | None = None,
        validate: bool = True,
        debug_logging: bool = False,
    ):
        self.name = name
        self.path = Path(path)
        self.description = read_description(self.path, validate=validate)
        self.can_save_state = self.description.can_save_state
        self.can_vary_step = self.description.can_vary_step
        self._fmi3 = self.description.fmi_version.startswith("3.")
        self._variables = {v.name: v for v in self.description.variables}
        self._log = LogBuffer(name)
        self._logging_on = bool(debug_logging) or _drops_errors_unless_logging(self.description)
        self._start_values: dict[str, Any] = {}
        self._inputs: tuple[Variable, ...] = ()
        self._outputs: tuple[Variable, ...] = ()
        self._no_set_prior = True
        self._sha256: str | None = None
        slave = self._load(workdir)
        self._instance = _Instance(
            slave,
            self._unzipdir,
            fmi3=self._fmi3,
            embeds_python=_embeds_python(self.description),
            keep_files=self._shared_dir,
        )
        self._finalizer = weakref.finalize(self, self._instance.close)

    def _load(self, workdir):
        import fmpy
        from fmpy.fmi2 import FMU2Slave
        from fmpy.fmi3 import FMU3Slave

        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.name)[:40]
        shared = _shared_folder(self.path)
        self._shared_dir = shared is not None
        self._unzipdir = shared or tempfile.mkdtemp(prefix=f"evtwin-{safe}-", dir=workdir)
        slave_class = FMU3Slave if self._fmi3 else FMU2Slave
        try:
            if shared is None:
                fmpy.extract(str(self.path), self._unzipdir)
            return slave_class(
                guid=self.description.guid,
                unzipDirectory=self._unzipdir,
                modelIdentifier=self.description.model_identifier,
                instanceName=self.name,
            )
        except Exception as err:
            if shared is None:
                shutil.rmtree(self._unzipdir, ignore_errors=True)
            hint = ""
            if "undefined symbol: _Py" in str(err):
                hint = " It needs libpython: run it from Python (as evtwin does) or preload libpython."
            raise FMUFileError(str(self.path), f"cannot load the FMU's binary: {err}.{hint}") from None

    def __repr__(self) -> str:
        return f"FMUUnit({str(self.path)!r}, {self.name!r})"

    # ---- interface ------------------------------------------------------------------------

    def ports(self) -> Sequence[Port]:
        return self.description.ports

    def metadata(self) -> dict[str, str]:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        d = self.description
        return {
            "type": type(self).__name__,
            "guid": d.guid,
            "fmiVersion": d.fmi_version,
            "modelName": d.model_name,
            "generationTool": d.generation_tool,
            "path": str(self.path),
            "sha256": self._sha256,
        }

    def configure(self, parameters: Mapping[str, Any]) -> None:
        """Set parameter and input start values by name, in the variables' units, before :meth:`setup`.

        Raises
        ------
        KeyError
            For a name that is not a parameter or input of the FMU, with close matches.
        ValueError
            For a value of the wrong type or outside the declared bounds.
        """
        if self._instance.component is not None:
            raise RuntimeError(f"unit {self.name!r}: configure() must come before setup()")
        settable = {
            v.name: v
            for v in self.description.variables
            if v.is_port and v.causality in (PARAMETER, INPUT) and v.variability != "constant"
        }
        staged = {}
        for name, value in parameters.items():
            if name not in settable:
                what = ""
                if name in self._variables:
                    what = f" ({name!r} is {_a(self._variables[name].causality)}, which cannot be set)"
                raise UnknownNameError(
                    unknown_name_message(
                        f"unit {self.name!r} (FMU {self.description.model_name!r})",
                        "parameter or input",
                        name,
                        settable,
                    )
                    + what
                )
            staged[name] = settable_value(settable[name], value, f"unit {self.name!r}")
        self._start_values.update(staged)

    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        """Fix which inputs :meth:`set_inputs` sets and which variables :meth:`get_outputs` returns.

        ``inputs`` must be input ports. ``outputs`` may name any numeric or Boolean variable
        (outputs, but also parameters and locals, for recording).
        """
        ins = tuple(self._bindable(n, "input") for n in inputs)
        outs = tuple(self._bindable(n, "output") for n in outputs)
        self._inputs, self._outputs = ins, outs
        if self._instance.initialized:
            self._arm()

    def _bindable(self, name: str, role: str) -> Variable:
        v = self._variables.get(name)
        pool = (
            [x.name for x in self._variables.values() if x.is_port and x.causality == INPUT]
            if role == "input"
            else list(self._variables)
        )
        if v is None:
            raise UnknownNameError(
                unknown_name_message(
                    f"unit {self.name!r} (FMU {self.description.model_name!r})", role, name, pool
                )
            )
        if role == "input" and not (v.is_port and v.causality == INPUT):
            raise UnknownNameError(
                f"unit {self.name!r}: {name!r} is {_a(v.causality)}, not an input; inputs: "
                f"{', '.join(sorted(pool)) or '(none)'}"
            )
        if v.port_type not in ("Real", "Integer", "Boolean") or not v.scalar:
            raise UnknownNameError(
                f"unit {self.name!r}: {name!r} is {_a(v.type) if v.scalar else 'an array'}; only "
                "scalar numeric and Boolean variables can be connected or recorded"
            )
        return v

    def setup(self, start_time: float) -> None:
        """Instantiate, apply the configured values, and initialise at ``start_time`` [s]."""
        inst = self._instance
        if inst.closed:
            raise RuntimeError(f"unit {self.name!r} was terminated")
        if inst.component is not None:
            raise RuntimeError(f"unit {self.name!r}: setup() was already called")
        self._instantiate(start_time)
        slave = inst.slave
        self._apply_start_values(start_time)
        if self._fmi3:
            self._call(slave.enterInitializationMode, None, start_time, t=start_time)
        else:
            self._call(slave.setupExperiment, None, start_time, t=start_time)
            self._call(slave.enterInitializationMode, t=start_time)
        self._call(slave.exitInitializationMode, t=start_time)
        inst.initialized = True
        self._arm()

    def _instantiate(self, start_time: float) -> None:
        inst = self._instance
        try:
            if self._fmi3:
                inst.slave.instantiate(loggingOn=self._logging_on, logMessage=fmi3_logger(self._log))
            else:
                inst.callbacks, inst.env_id = fmi2_callbacks(self._log)
                inst.slave.instantiate(callbacks=inst.callbacks, loggingOn=self._logging_on)
        except Exception as err:
            log = self._log.recent()
            raise SimulationError(
                f"the FMU could not be instantiated ({err})"
                + (f"; FMU log:\n{log}" if log else "; it logged nothing (try debug_logging)"),
                unit=self.name,
                t=start_time,
            ) from None
        inst.component = inst.slave.component

    def _apply_start_values(self, t: float) -> None:
        slave = self._instance.slave
        for name, value in self._start_values.items():
            v = self._variables[name]
            setter = getattr(slave, "set" + self._fmpy_type(v))
            self._call(setter, [v.value_reference], [value], t=t)

    def _fmpy_type(self, v: Variable) -> str:
        if v.type == "Enumeration":
            return "Int64" if self._fmi3 else "Integer"
        return v.type

    # ---- stepping -------------------------------------------------------------------------
    # Until setup() and bind() are both done these methods raise. Afterwards _arm() shadows them
    # with closures over the C functions and buffers: no attribute look-ups in the step loop.

    def set_inputs(self, values: Sequence[float]) -> None:
        self._not_ready()

    def get_outputs(self) -> Sequence[float]:
        self._not_ready()

    def do_step(self, t: float, h: float) -> None:
        self._not_ready()

    def _not_ready(self):
        state = "was terminated" if self._instance.closed else "is not set up: call bind() and setup() first"
        raise RuntimeError(f"unit {self.name!r} {state}")

    def _arm(self) -> None:
        inst = self._instance
        # Fresh function objects without declared argument types, called with ready-made ctypes
        # arguments: ctypes then skips its per-argument conversion, which costs more than the C
        # call itself (benchmarks/bench_fmu_adapter.py).
        lib = inst.slave.dll
        c = c_void_p(inst.component)
        fail = self._fail
        set_inputs = self._make_setter(lib, c, fail)
        get_outputs = self._make_getter(lib, c, fail)
        if self._fmi3:
            fmi3_do_step = lib["fmi3DoStep"]
            no_prior = c_bool(self._no_set_prior)
            terminate = c_bool()
            flags = byref(c_bool()), byref(terminate), byref(c_bool()), byref(c_double())
            event_ref, terminate_ref, early_ref, last_ref = flags

            def do_step(t: float, h: float) -> None:
                status = fmi3_do_step(
                    c, c_double(t), c_double(h), no_prior, event_ref, terminate_ref, early_ref, last_ref
                )
                if status > 1 or terminate.value:
                    fail("fmi3DoStep", status, t, terminated=terminate.value)
        else:
            fmi2_do_step = lib["fmi2DoStep"]
            no_prior = 1 if self._no_set_prior else 0

            def do_step(t: float, h: float) -> None:
                status = fmi2_do_step(c, c_double(t), c_double(h), no_prior)
                if status > 1:
                    fail("fmi2DoStep", status, t)

        self.set_inputs, self.get_outputs, self.do_step = set_inputs, get_outputs, do_step

    def _real_buffers(self, variables: tuple[Variable, ...]):
        """``(value references, values, count)`` as ctypes objects, or None unless all are Float64/Real."""
        real = "Float64" if self._fmi3 else "Real"
        if not all(v.type == real for v in variables):
            return None
        n = len(variables)
        return (c_uint * n)(*(v.value_reference for v in variables)), (c_double * n)(), c_size_t(n)

    def _make_setter(self, lib, c, fail):
        if not self._inputs:
            return lambda values: None
        buffers = self._real_buffers(self._inputs)
        if buffers is None:
            return self._typed_setter()
        vr, buf, n = buffers
        if self._fmi3:
            fmi3_set = lib["fmi3SetFloat64"]

            def set_inputs(values: Sequence[float]) -> None:
                buf[:] = values
                status = fmi3_set(c, vr, n, buf, n)
                if status > 1:
                    fail("fmi3SetFloat64", status, None)
        else:
            fmi2_set = lib["fmi2SetReal"]

            def set_inputs(values: Sequence[float]) -> None:
                buf[:] = values
                status = fmi2_set(c, vr, n, buf)
                if status > 1:
                    fail("fmi2SetReal", status, None)

        return set_inputs

    def _make_getter(self, lib, c, fail):
        if not self._outputs:
            return lambda: ()
        buffers = self._real_buffers(self._outputs)
        if buffers is None:
            return self._typed_getter()
        vr, buf, n = buffers
        if self._fmi3:
            fmi3_get = lib["fmi3GetFloat64"]

            def get_outputs() -> list[float]:
                status = fmi3_get(c, vr, n, buf, n)
                if status > 1:
                    fail("fmi3GetFloat64", status, None)
                return buf[:]
        else:
            fmi2_get = lib["fmi2GetReal"]

            def get_outputs() -> list[float]:
                status = fmi2_get(c, vr, n, buf)
                if status > 1:
                    fail("fmi2GetReal", status, None)
                return buf[:]

        return get_outputs

    def _groups(self, variables: tuple[Variable, ...]) -> list[tuple[str, list[int], list[int]]]:
        """Variables grouped by fmpy type: ``(type, positions, value references)``."""
        groups: dict[str, tuple[list[int], list[int]]] = {}
        for i, v in enumerate(variables):
            positions, vrs = groups.setdefault(self._fmpy_type(v), ([], []))
            positions.append(i)
            vrs.append(v.value_reference)
        return [(kind, positions, vrs) for kind, (positions, vrs) in groups.items()]

    def _typed_setter(self):
        """Inputs of several types: one fmpy call per type (slower; the common case is all Real)."""
        slave = self._instance.slave
        plan = [
            (getattr(slave, "set" + kind), _caster(kind), positions, vrs)
            for kind, positions, vrs in self._groups(self._inputs)
        ]

        def set_inputs(values: Sequence[float]) -> None:
            for setter, cast, positions, vrs in plan:
                self._call(setter, vrs, [cast(values[i]) for i in positions])

        return set_inputs

    def _typed_getter(self):
        slave = self._instance.slave
        n = len(self._outputs)
        plan = [
            (getattr(slave, "get" + kind), positions, vrs)
            for kind, positions, vrs in self._groups(self._outputs)
        ]

        def get_outputs() -> list[float]:
            result = [0.0] * n
            for getter, positions, vrs in plan:
                for i, value in zip(positions, self._call(getter, vrs), strict=True):
                    result[i] = float(value)
            return result

        return get_outputs

    # ---- errors ---------------------------------------------------------------------------

    def _call(self, fn, *args, t: float | None = None):
        """The choke point for every FMI call outside the step loop: status check, log, raise."""
        from fmpy.fmi1 import FMICallException

        try:
            return fn(*args)
        except FMICallException as err:
            self._fail(err.function, err.status, t)

    def _fail(self, function: str, status: int, t: float | None, terminated: bool = False):
        if status >= _ERROR:
            self._instance.failed = True
        if status >= _FATAL:
            self._instance.fatal = True
        log = self._log.recent()
        if terminated and status <= 1:
            raise SimulationError(
                f"{function}: the FMU asked to end the simulation (terminateSimulation)"
                + (f"; FMU log:\n{log}" if log else ""),
                unit=self.name,
                t=t,
            )
        raise FMUCallError(function, status, unit=self.name, t=t, log=log)

    # ---- state ----------------------------------------------------------------------------

    def save_state(self) -> FMUState:
        """Snapshot the FMU (``fmi2GetFMUstate``/``fmi3GetFMUState``); see :meth:`restore_state`."""
        if not self.can_save_state:
            raise NotImplementedError(
                f"unit {self.name!r}: FMU {self.description.model_name!r} cannot save its "
                "state (canGetAndSetFMUstate is false): no rollback with this unit"
            )
        inst = self._instance
        if inst.component is None or inst.closed:
            self._not_ready()
        pointer = self._call(inst.slave.getFMUState)
        state = FMUState(inst, inst.add_state(pointer))
        weakref.finalize(state, inst.free_state, state._key)
        if self._no_set_prior:
            # From now on the FMU may be set back to an earlier point; tell it so at each step.
            self._no_set_prior = False
            self._arm()
        return state

    def restore_state(self, state: FMUState) -> None:
        """Return the FMU to a snapshot from :meth:`save_state` of this unit."""
        inst = self._instance
        if not isinstance(state, FMUState) or state._instance is not inst:
            raise ValueError(f"unit {self.name!r}: not a state saved by this unit")
        pointer = inst.states.get(state._key)
        if pointer is None or inst.closed:
            raise ValueError(f"unit {self.name!r}: that state was already freed")
        self._call(inst.slave.setFMUState, pointer)

    # ---- end ------------------------------------------------------------------------------

    def terminate(self) -> None:
        """Terminate and free the FMU, and delete its extracted files. Safe to call more than once."""
        self._finalizer()
        for attr in ("set_inputs", "get_outputs", "do_step"):
            self.__dict__.pop(attr, None)

    @property
    def log(self) -> str:
        """The FMU's recent log messages, one per line."""
        return self._log.recent(n=1000)


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _caster(kind: str):
    if kind == "Boolean":
        return lambda x: bool(x)
    if kind in ("Real", "Float64", "Float32"):
        return float
    return lambda x: int(round(x))

"""FMUs as units: FMI 2.0 and 3.0 co-simulation FMUs through fmpy.

:class:`FMUUnit` implements the :class:`~cosim.unit.Unit` protocol over fmpy's ``FMU2Slave`` and
``FMU3Slave``. The step loop calls the FMU's C functions directly with value-reference and value
buffers prepared by :meth:`FMUUnit.bind` (:mod:`cosim.fmu.step_calls`), so a step costs one set,
one doStep and one get call and little else (``benchmarks/bench_fmu_adapter.py`` measures it
against a bare fmpy loop). The library, the instance and its saved states are held by
:class:`~cosim.fmu.instance.Instance`.

Every other FMI call goes through one choke point that turns a failed status into
:class:`~cosim.errors.FMUCallError` with the FMU's recent log messages (:mod:`cosim.fmu.log`).

Each instance extracts the FMU into a directory of its own (parallel workers extracting FMUs of
the same name into one place overwrite each other's binaries, fmpy #577) and removes it in
:meth:`FMUUnit.terminate` (batch workers share one extraction per process instead:
:mod:`cosim.fmu.extraction`). fmpy is not thread-safe: use one unit per thread at most, and
processes for parallel runs.

Set-up work lives beside it: extraction, loading and instantiation in :mod:`cosim.fmu.loading`,
checks of the names and values given to ``configure`` and ``bind`` in :mod:`cosim.fmu.binding`.
This module keeps the unit itself, its step-loop arming and its error choke point.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cosim.errors import FMUCallError, FMUFileError, UnitEnded
from cosim.fmu.binding import bindable, settable_values
from cosim.fmu.description import FMUDescription, file_sha256, ports_with_units, read_description
from cosim.fmu.instance import FMUState, Instance, embeds_python
from cosim.fmu.loading import apply_start_values, drops_errors_unless_logging, instantiate, load_slave
from cosim.fmu.log import LogBuffer
from cosim.fmu.step_calls import address_of, fmpy_type, step_calls, step_failed
from cosim.fmu.variables import DeclaredUnit, Variable, unknown_units
from cosim.unit import Port, Unit

__all__ = [
    "DeclaredUnit",
    "FMUDescription",
    "FMUState",
    "FMUUnit",
    "Variable",
    "read_description",
    "unknown_units",
]

# FMI statuses: 0 OK, 1 warning, 2 discard, 3 error, 4 fatal. Above warning, a call has failed.
_ERROR, _FATAL = 3, 4


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
        port_units: Mapping[str, str] | None = None,
    ):
        self.name = name
        self.path = Path(path)
        self.description = read_description(self.path, validate=validate)
        try:
            self._ports = ports_with_units(self.description, port_units or {})
        except ValueError as err:
            raise FMUFileError(str(self.path), f"unit {name!r}: port_units: {err}") from None
        self.can_save_state = self.description.can_save_state
        self.can_vary_step = self.description.can_vary_step
        self._fmi3 = self.description.fmi_version.startswith("3.")
        self._variables = {v.name: v for v in self.description.variables}
        self._log = LogBuffer(name)
        self._logging_on = bool(debug_logging) or drops_errors_unless_logging(self.description)
        self._start_values: dict[str, Any] = {}
        self._inputs: tuple[Variable, ...] = ()
        self._outputs: tuple[Variable, ...] = ()
        self._no_set_prior = True
        self._sha256: str | None = None
        slave, self._unzipdir, self._shared_dir = load_slave(
            self.path, name, self.description, fmi3=self._fmi3, workdir=workdir
        )
        self._instance = Instance(
            slave,
            self._unzipdir,
            fmi3=self._fmi3,
            embeds_python=embeds_python(self.description),
            keep_files=self._shared_dir,
        )
        self._finalizer = weakref.finalize(self, self._instance.close)

    def __repr__(self) -> str:
        return f"FMUUnit({str(self.path)!r}, {self.name!r})"

    # ---- interface ------------------------------------------------------------------------

    def ports(self) -> Sequence[Port]:
        return self._ports

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
        self._start_values.update(settable_values(self.description, self._variables, parameters, self.name))

    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        """Fix which inputs :meth:`set_inputs` sets and which variables :meth:`get_outputs` returns.

        ``inputs`` must be input ports. ``outputs`` may name any numeric or Boolean variable
        (outputs, but also parameters and locals, for recording).
        """
        ins = tuple(self._bindable(n, "input") for n in inputs)
        outs = tuple(self._bindable(n, "output") for n in outputs)
        self._inputs, self._outputs = ins, outs
        if self._instance.component is not None:
            self._arm()

    def _bindable(self, name: str, role: str) -> Variable:
        return bindable(self._variables, name, role, self.name, self.description.model_name)

    def setup(self, start_time: float) -> None:
        """Instantiate, apply the configured values, and enter initialisation mode at ``start_time`` [s].

        The FMU stays in initialisation mode until :meth:`end_initialization`: the master sets its
        connected inputs and reads its initial outputs in between, so that an FMU computing its
        initial state from its inputs sees the values they will have.
        """
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
        self._t0 = start_time
        self._arm()

    def end_initialization(self) -> None:
        """Leave initialisation mode (``exitInitializationMode``); :meth:`setup` must come first."""
        inst = self._instance
        if inst.component is None or inst.closed:
            self._not_ready()
        if inst.initialized:
            return
        self._call(inst.slave.exitInitializationMode, t=self._t0)
        inst.initialized = True
        self._arm()

    def _instantiate(self, start_time: float) -> None:
        instantiate(
            self._instance,
            fmi3=self._fmi3,
            logging_on=self._logging_on,
            log=self._log,
            name=self.name,
            start_time=start_time,
        )

    def _apply_start_values(self, t: float) -> None:
        apply_start_values(
            self._instance.slave, self._variables, self._start_values, fmi3=self._fmi3, call=self._call, t=t
        )

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
        self.set_inputs, self.get_outputs, self.do_step = step_calls(
            inst.slave,
            inst.component,
            fmi3=self._fmi3,
            inputs=self._inputs,
            outputs=self._outputs,
            no_set_prior=self._no_set_prior,
            fail=self._fail,
            call=self._call,
            end=self._end,
            name=self.name,
        )
        if not inst.initialized:
            # Called without the master (which ends initialisation itself): the first step ends it.
            def do_step(t: float, h: float) -> None:
                self.end_initialization()
                self.do_step(t, h)

            self.do_step = do_step

    def compiled_step(self):
        """The fmi2 calls and value references for the master's C core; None for FMI 3.0, for
        non-Real inputs or outputs, and before the FMU is initialised."""
        from cosim.master.native import CompiledStep

        inst = self._instance
        if self._fmi3 or inst.component is None or inst.closed or not inst.initialized:
            return None
        if not all(v.type == "Real" for v in (*self._inputs, *self._outputs)):
            return None
        lib = inst.slave.dll
        return CompiledStep(
            component=inst.component,
            set_real=address_of(lib, "fmi2SetReal"),
            get_real=address_of(lib, "fmi2GetReal"),
            do_step=address_of(lib, "fmi2DoStep"),
            vr_in=[v.value_reference for v in self._inputs],
            vr_out=[v.value_reference for v in self._outputs],
            no_prior=self._no_set_prior,
            unit=self,
        )

    def _step_failed(self, status: int, t: float):
        """fmi2DoStep from ``t`` [s] returned ``status`` in the C core: the end it asked for, or the error."""
        step_failed(self._instance.slave.dll, self._instance.component, status, t, self._fail, self._end)

    # ---- errors ---------------------------------------------------------------------------

    def _call(self, fn, *args, t: float | None = None):
        """The choke point for every FMI call outside the step loop: status check, log, raise."""
        from fmpy.fmi1 import FMICallException

        try:
            return fn(*args)
        except FMICallException as err:
            self._fail(err.function, err.status, t)

    def _fail(self, function: str, status: int, t: float | None):
        if status >= _ERROR:
            self._instance.failed = True
        if status >= _FATAL:
            self._instance.fatal = True
        raise FMUCallError(function, status, unit=self.name, t=t, log=self._log.recent())

    def _end(self, function: str, t: float, t_last: float):
        """The FMU asked to end the simulation after reaching ``t_last`` [s]: a clean end of the run.

        Unless it logged an error: pythonfmu reports a Python exception in the model as a
        discarded step with ``fmi2Terminated`` set, which is a failure.
        """
        if self._log.errors:
            self._fail(function, 2, t)
        log = self._log.recent(n=1)
        reason = "the FMU asked to (terminateSimulation)" + (f"; {log}" if log else "")
        raise UnitEnded(self.name, t_last, reason)

    # ---- between steps --------------------------------------------------------------------

    def read(self, name: str) -> Any:
        """The current value of variable ``name`` (any causality), in its unit."""
        v = self._bindable(name, "output")
        inst = self._instance
        if inst.component is None or inst.closed:
            self._not_ready()
        getter = getattr(inst.slave, "get" + fmpy_type(v, self._fmi3))
        return self._call(getter, [v.value_reference])[0]

    def write(self, name: str, value: Any) -> None:
        """Set input or parameter ``name``: a start value before :meth:`setup`, else at once.

        Raises
        ------
        ValueError
            For a parameter the FMU fixes at initialisation (variability ``fixed``) once set up.
        """
        inst = self._instance
        if inst.component is None:
            self.configure({name: value})
            return
        staged = settable_values(self.description, self._variables, {name: value}, self.name)
        v = self._variables[name]
        if inst.initialized and v.causality != "input" and v.variability != "tunable":
            raise ValueError(
                f"unit {self.name!r}: parameter {name!r} is {v.variability}: it can be set before the "
                "first step only (reset the simulation, set it, then step)"
            )
        setter = getattr(inst.slave, "set" + fmpy_type(v, self._fmi3))
        self._call(setter, [v.value_reference], [staged[name]])

    def initial_dependencies(self):
        """The FMU's ``InitialUnknowns``: which inputs each initial output depends on (None: not declared)."""
        return self.description.initial_dependencies

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

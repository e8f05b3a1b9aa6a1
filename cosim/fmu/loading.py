"""Bringing an FMU to life for :class:`~cosim.fmu.adapter.FMUUnit`: extraction, binary loading, instantiation.

Set-up only, nothing here runs in the step loop. :func:`load_slave` extracts the FMU into a folder
of its own (or uses the process's shared extraction, :mod:`cosim.fmu.extraction`) and loads its
binary through fmpy; :func:`instantiate` creates the FMI instance with the log callbacks of
:mod:`cosim.fmu.log`; :func:`apply_start_values` sets the configured start values.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cosim.errors import FMUFileError, SimulationError
from cosim.fmu.description import FMUDescription
from cosim.fmu.extraction import shared_folder
from cosim.fmu.instance import Instance, embeds_python
from cosim.fmu.log import LogBuffer, fmi2_callbacks, fmi3_logger
from cosim.fmu.step_calls import fmpy_type
from cosim.fmu.variables import Variable


def drops_errors_unless_logging(description: FMUDescription) -> bool:
    """FMUs that report nothing, errors included, while logging is off.

    pythonfmu's C++ wrapper is one: without it a Python exception in the model shows up only as a
    bare error status.
    """
    return embeds_python(description)


def load_slave(
    path: Path, name: str, description: FMUDescription, *, fmi3: bool, workdir: str | Path | None
) -> tuple[Any, str, bool]:
    """Extract the FMU and load its binary: ``(slave, unzip folder, whether that folder is shared)``.

    Raises :class:`~cosim.errors.FMUFileError` when the binary cannot be loaded (after removing a
    folder of its own).
    """
    import fmpy
    from fmpy.fmi2 import FMU2Slave
    from fmpy.fmi3 import FMU3Slave

    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:40]
    shared = shared_folder(path)
    unzipdir = shared or tempfile.mkdtemp(prefix=f"evtwin-{safe}-", dir=workdir)
    slave_class = FMU3Slave if fmi3 else FMU2Slave
    try:
        if shared is None:
            fmpy.extract(str(path), unzipdir)
        slave = slave_class(
            guid=description.guid,
            unzipDirectory=unzipdir,
            modelIdentifier=description.model_identifier,
            instanceName=name,
        )
    except Exception as err:
        if shared is None:
            shutil.rmtree(unzipdir, ignore_errors=True)
        hint = ""
        if "undefined symbol: _Py" in str(err):
            hint = " It needs libpython: run it from Python (as evtwin does) or preload libpython."
        raise FMUFileError(str(path), f"cannot load the FMU's binary: {err}.{hint}") from None
    return slave, unzipdir, shared is not None


def instantiate(
    inst: Instance, *, fmi3: bool, logging_on: bool, log: LogBuffer, name: str, start_time: float
) -> None:
    """Create the FMI instance of ``inst``'s slave, its messages going to ``log``."""
    try:
        if fmi3:
            inst.slave.instantiate(loggingOn=logging_on, logMessage=fmi3_logger(log))
        else:
            inst.callbacks, inst.env_id = fmi2_callbacks(log)
            inst.slave.instantiate(callbacks=inst.callbacks, loggingOn=logging_on)
    except Exception as err:
        recent = log.recent()
        raise SimulationError(
            f"the FMU could not be instantiated ({err})"
            + (f"; FMU log:\n{recent}" if recent else "; it logged nothing (try debug_logging)"),
            unit=name,
            t=start_time,
        ) from None
    inst.component = inst.slave.component


def apply_start_values(
    slave: Any,
    variables: Mapping[str, Variable],
    start_values: Mapping[str, Any],
    *,
    fmi3: bool,
    call: Callable[..., Any],
    t: float,
) -> None:
    """Set the configured start values, each through ``call`` (the unit's checked FMI call)."""
    for name, value in start_values.items():
        v = variables[name]
        setter = getattr(slave, "set" + fmpy_type(v, fmi3))
        call(setter, [v.value_reference], [value], t=t)

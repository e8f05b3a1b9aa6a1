"""The unit protocol: everything the master steps is a :class:`Unit` with declared :class:`Port` s.

The master matches ports by name, causality and unit only; it never looks inside a unit.
An FMU (through fmpy), the built-in vehicle, a charger, the MPC and an ONNX model all
implement this one protocol, so a scenario swaps one for another without code changes.

Life cycle, in the order the master calls it::

    unit.ports()                       # declared interface (any time)
    unit.configure(parameters)         # parameter values, SI, by port name
    unit.bind(input_names, output_names)
    unit.setup(start_time)             # initialise; outputs valid afterwards
    unit.set_inputs(values)            # initial values of connected inputs, in dependency order
    unit.end_initialization()          # inputs and outputs agree; stepping starts
    loop:
        unit.set_inputs(values)        # in the order given to bind()
        unit.do_step(t, h)             # advance from t to t + h [s]
        unit.get_outputs()             # in the order given to bind()
    unit.terminate()

All values crossing the protocol are floats in the port's declared unit (Booleans as
0.0/1.0). Units that can roll back set ``can_save_state`` and implement
``save_state``/``restore_state``. Between steps an interactive simulation reads and sets ports
with ``read``/``write`` (:mod:`cosim.simulation`); a unit the master's C core can step without
Python says how with ``compiled_step`` (:mod:`cosim.master.native`). What the master may assume about a unit (``steps_ahead``,
``direct_feedthrough``, ``static``, ``can_vary_step``) is declared on :class:`Unit`, with defaults
that fit a unit which declares nothing.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

INPUT = "input"
OUTPUT = "output"
PARAMETER = "parameter"
CAUSALITIES = (INPUT, OUTPUT, PARAMETER)


@dataclass(frozen=True, slots=True)
class Port:
    """A named input, output or parameter of a unit.

    Parameters
    ----------
    name : str
        Port name, unique within the unit.
    causality : str
        ``"input"``, ``"output"`` or ``"parameter"``.
    unit : str
        Unit symbol from :mod:`cosim.si` (``"1"`` for dimensionless).
    description : str
        One sentence a user reads in ``evtwin inspect`` and in result files.
    start : float
        Start (default) value, in ``unit``.
    min, max : float or None
        Physical bounds; the master checks outputs against them after each step.
    type : str
        ``"Real"``, ``"Integer"``, ``"Boolean"`` or ``"String"``.
    """

    name: str
    causality: str
    unit: str = "1"
    description: str = ""
    start: Any = 0.0
    min: float | None = None
    max: float | None = None
    type: str = "Real"

    def __post_init__(self) -> None:
        if self.causality not in CAUSALITIES:
            raise ValueError(
                f"port {self.name!r}: causality must be one of {CAUSALITIES} (got {self.causality!r})"
            )


class Unit(ABC):
    """A steppable component. Subclasses declare ports and implement the life cycle above."""

    #: True when ``save_state``/``restore_state`` give an exact rollback.
    can_save_state: ClassVar[bool] = False
    #: False for units that only run at one communication step (e.g. fixed-step exports).
    can_vary_step: ClassVar[bool] = True
    #: True for units whose outputs depend on time alone (sources, the usage schedule): the master
    #: steps them first in each macro step, their outputs hold over it, and they take no inputs.
    steps_ahead: ClassVar[bool] = False
    #: False when no output depends on an input of the same step (the outputs are the unit's
    #: state): a connection from such a unit neither orders the units nor closes an algebraic loop.
    direct_feedthrough: ClassVar[bool] = True
    #: True for units whose outputs never change (constants): set up and read once, never stepped.
    static: ClassVar[bool] = False

    #: Parameters this unit takes from the scenario's shared values: {parameter: shared name}
    #: (:mod:`cosim.scenario.shared_values`).
    SHARED_PARAMETERS: ClassVar[Mapping[str, str]] = {}

    #: Instance name given by the scenario; set by the engine.
    name: str = ""

    def shared_values(self) -> Mapping[str, Any]:
        """Facts this unit states for the others of a scenario, by shared name (default: none)."""
        return {}

    @abstractmethod
    def ports(self) -> Sequence[Port]:
        """The declared interface."""

    def configure(self, parameters: Mapping[str, Any]) -> None:
        """Set parameter values (by port name, in the port's unit) before :meth:`setup`."""
        if parameters:
            raise NotImplementedError(f"{type(self).__name__} takes no parameters (got {sorted(parameters)})")

    @abstractmethod
    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        """Fix the order of the values passed to :meth:`set_inputs` and returned by :meth:`get_outputs`."""

    @abstractmethod
    def setup(self, start_time: float) -> None:
        """Initialise at ``start_time`` [s]. Outputs are valid afterwards."""

    def end_initialization(self) -> None:
        """Called once after :meth:`setup`, when the master has given every connected input its
        initial value (an FMU leaves its initialisation mode here). Nothing by default."""

    @abstractmethod
    def set_inputs(self, values: Sequence[float]) -> None:
        """Set the bound inputs, in bind order."""

    @abstractmethod
    def get_outputs(self) -> Sequence[float]:
        """The bound outputs, in bind order, as a new (or immutable) sequence: the master keeps it."""

    @abstractmethod
    def do_step(self, t: float, h: float) -> None:
        """Advance from ``t`` to ``t + h`` [s]. Raise on failure."""

    def read(self, name: str) -> Any:
        """The current value of port ``name`` (any causality) between steps, in the port's unit."""
        raise NotImplementedError(f"{type(self).__name__} cannot read {name!r} between steps")

    def write(self, name: str, value: Any) -> None:
        """Set input or parameter ``name`` between steps (in the port's unit); it holds until set again.

        Before :meth:`setup` this is :meth:`configure` for parameters. Parameters that cannot change
        once the unit is set up raise ``ValueError``.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot set {name!r} between steps")

    def initial_dependencies(self) -> Mapping[str, Collection[str] | None] | None:
        """Which inputs each output depends on in initialisation, by name (None for an output: every
        input; an output not named: none), or None when the unit does not say (every output then
        depends on every input). The master passes the initial values in this order."""
        return None

    def compiled_step(self) -> Any:
        """What the master's C core needs to step this unit without Python
        (:class:`cosim.master.native.CompiledStep`), or None (the default: the Python loop steps it).
        Asked after :meth:`end_initialization`, before each segment."""
        return None

    def save_state(self) -> Any:
        """An opaque snapshot that :meth:`restore_state` returns to exactly."""
        raise NotImplementedError(f"{type(self).__name__} cannot save its state")

    def restore_state(self, state: Any) -> None:
        """Return to a snapshot taken by :meth:`save_state`."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a state")

    def terminate(self) -> None:
        """Release resources. Called once, also after a failed run."""

    def metadata(self) -> dict[str, str]:
        """Facts for the result file (e.g. an FMU's GUID and version)."""
        return {"type": type(self).__name__}


class PythonUnit(Unit):
    """A unit whose ports are plain attributes of the same name.

    Subclasses list their ports in ``PORTS``; inputs and parameters start at their
    ``start`` values. ``bind`` precomputes attribute getters so a step costs a few
    attribute reads and writes, not dictionary look-ups.
    """

    PORTS: ClassVar[Sequence[Port]] = ()

    def __init__(self) -> None:
        for p in self.ports():
            if p.causality != OUTPUT:
                setattr(self, p.name, p.start)
            elif not hasattr(self, p.name):
                setattr(self, p.name, p.start)
        self._inputs: tuple[str, ...] = ()
        self._get = lambda obj: ()

    def ports(self) -> Sequence[Port]:
        return self.PORTS

    def configure(self, parameters: Mapping[str, Any]) -> None:
        known = {p.name: p for p in self.ports() if p.causality == PARAMETER}
        for name, value in parameters.items():
            if name not in known:
                raise KeyError(
                    f"{type(self).__name__} has no parameter {name!r}; parameters: {sorted(known)}"
                )
            setattr(self, name, value)

    def bind(self, inputs: Sequence[str], outputs: Sequence[str]) -> None:
        names = {p.name: p for p in self.ports()}
        for n in inputs:
            if n not in names or names[n].causality != INPUT:
                raise KeyError(f"{type(self).__name__} has no input {n!r}")
        for n in outputs:
            if n not in names:
                raise KeyError(f"{type(self).__name__} has no port {n!r}")
        self._inputs = tuple(inputs)
        if len(outputs) == 0:
            self._get = lambda obj: ()
        elif len(outputs) == 1:
            single = operator.attrgetter(outputs[0])
            self._get = lambda obj: (single(obj),)
        else:
            self._get = operator.attrgetter(*outputs)

    def set_inputs(self, values: Sequence[float]) -> None:
        for name, value in zip(self._inputs, values):
            setattr(self, name, value)

    def get_outputs(self) -> Sequence[float]:
        return self._get(self)

    def read(self, name: str) -> Any:
        if name not in {p.name for p in self.ports()}:
            raise KeyError(f"{type(self).__name__} has no port {name!r}")
        return getattr(self, name)

    def write(self, name: str, value: Any) -> None:
        ports = {p.name: p for p in self.ports()}
        if name not in ports or ports[name].causality == OUTPUT:
            raise KeyError(f"{type(self).__name__} has no input or parameter {name!r}")
        if ports[name].causality == PARAMETER:
            self.configure({name: value})
        else:
            setattr(self, name, value)

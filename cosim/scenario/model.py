"""The scenario file format as typed, frozen, documented models (pydantic v2).

The same declarations give the loader its checks, ``evtwin schema`` its JSON Schema and
``docs/scenarios.md`` its reference. The field types (quantities, durations, clock times,
names) are in :mod:`cosim.scenario.fields`; fields that are durations are converted to seconds
here, values for ports once the port's unit is known.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cosim.scenario.fields import (  # noqa: F401 - split_quantity and to_unit are used from here too
    ClockTime,
    Kelvin,
    Name,
    Positive,
    PositiveSeconds,
    Quantity,
    SignalName,
    Time,
    split_quantity,
    to_unit,
)


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True
    )


class Experiment(_Model):
    """When the run starts and how long it lasts."""

    start: Time = 0.0
    """Start time [s] (time 0 is Monday 00:00 for the schedule)."""
    duration: PositiveSeconds
    """Simulated time, e.g. '1 d', '365 d' or 3600 [s]. `evtwin run --duration` overrides it."""


class UnitSpec(_Model):
    """One unit: an FMU file or a built-in unit type."""

    fmu: str | None = None
    """Path of an FMU (FMI 2.0/3.0 co-simulation), relative to the scenario file."""
    type: str | None = None
    """A built-in unit type (`table`, `constant`, or one registered in the `evtwin.unit_types` group)."""
    settings: dict[str, Any] = {}
    """Keyword arguments of the unit type's constructor (not for FMUs)."""
    parameters: dict[str, Quantity] = {}
    """Parameter values by name: a number in the parameter's unit or {value, unit}."""
    every: Positive | dict[str, Positive] = 1
    """Step once per this many macro steps; a mapping gives it by phase (phases not named: 1)."""
    port_units: dict[str, str] = {}
    """Units of FMU ports that declare none, e.g. {P_loss: kW, T_in: degC} (Simulink exports often do)."""
    isolate: bool = False
    """Run this FMU in a child process of its own: its crash ends the run with an error, not evtwin."""
    validate_fmu: bool = Field(True, alias="validate")
    """Validate the FMU's model description with fmpy (turn off for slightly non-compliant exports)."""
    debug_logging: bool = False
    """Switch on the FMU's debug logging."""
    description: str = ""
    """Free text."""
    shared: list[Name] | dict[Name, Name] | None = None
    """Parameters taken from the scenario's shared values: names (a parameter of the same name) or
    {parameter: shared name}."""

    @model_validator(mode="after")
    def _one_source(self):
        if (self.fmu is None) == (self.type is None):
            raise ValueError("give exactly one of 'fmu' (a file) and 'type' (a built-in unit type)")
        if self.fmu is not None and self.settings:
            raise ValueError("'settings' are for built-in unit types; an FMU takes 'parameters'")
        if self.fmu is None and (self.port_units or self.isolate):
            raise ValueError("'port_units' and 'isolate' are for FMUs ('fmu:'), not built-in unit types")
        return self


class ConnectionSpec(_Model):
    """An output feeding an input."""

    source: SignalName = Field(alias="from")
    """`unit.output`."""
    to: SignalName
    """`unit.input`."""
    gain: float = 1.0
    """Multiplies the value after unit conversion (in the target's unit)."""
    offset: float = 0.0
    """Added after the gain, in the target's unit."""
    transfer: Literal["last", "mean"] = "last"
    """`last`: the latest sample; `mean`: the average over the target's step (fast unit into a slow one)."""
    delay: Literal[0, 1] = 0
    """1: read the value from the start of the macro step (breaks an algebraic loop)."""


class PhaseSpec(_Model):
    """A phase of use: its macro step."""

    step: PositiveSeconds
    """Macro step [s] while in this phase, e.g. 1 s driving, 10 s charging, 3600 s parked."""


class SessionSpec(_Model):
    """One interval of the daily or weekly pattern."""

    at: ClockTime
    """Start time of day, 'HH:MM'."""
    phase: Name
    """Phase name."""
    duration: PositiveSeconds = Field(alias="for")
    """How long, e.g. '30 min' or '8 h'; may run past midnight."""


DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekdays", "weekend", "every_day"]


class AmbientSpec(_Model):
    """The ambient temperature: a constant, a shipped profile, or a CSV profile."""

    constant: Kelvin | None = None
    """A constant temperature, e.g. '25 degC'."""
    profile: str | None = None
    """A profile shipped with evtwin, e.g. `miami` (hourly, one year, repeated)."""
    file: str | None = None
    """A CSV profile, relative to the scenario file, repeated over its length."""
    time_column: str = "t_hours"
    """Time column of `file`."""
    time_unit: str = "h"
    """Unit of `time_column`."""
    column: str = "T_degC"
    """Temperature column of `file`."""
    unit: str = "degC"
    """Unit of `column`."""

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("constant", "profile", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'constant', 'profile' and 'file'")
        return self


class ScheduleSpec(_Model):
    """The usage schedule: phases with their macro steps and a daily or weekly pattern."""

    phases: dict[Name, PhaseSpec] = Field(min_length=1)
    """Phases by name, e.g. {drive: {step: 1 s}, charge: {step: 10 s}, park: {step: 1 h}}."""
    default: Name
    """The phase between sessions (usually `park`)."""
    daily: list[SessionSpec] | None = None
    """The sessions of every day."""
    weekly: dict[DayName, list[SessionSpec]] | None = None
    """The sessions by day of the week (`mon`..`sun`, `weekdays`, `weekend`, `every_day`)."""
    ambient: AmbientSpec = AmbientSpec(constant=298.15)
    """The ambient temperature (default 25 degC)."""

    @model_validator(mode="after")
    def _one_pattern(self):
        if self.daily is not None and self.weekly is not None:
            raise ValueError("give either 'daily' or 'weekly', not both")
        return self


class LoopSpec(_Model):
    """Resolve algebraic loops by fixed-point iteration (units must save and restore state)."""

    solver: Literal["fixedpoint"] = "fixedpoint"
    """The iteration."""
    max_iterations: Positive = 20
    """Iterations per macro step before the run fails."""
    tolerance: Annotated[float, Field(gt=0)] = 1e-9
    """Relative change below which the loop has converged."""


class AlgorithmSpec(_Model):
    """Master algorithm options."""

    method: Literal["gauss_seidel", "jacobi"] = "gauss_seidel"
    """`gauss_seidel`: in dependency order, fresh values; `jacobi`: all from the start of the step."""
    step: PositiveSeconds | None = None
    """Macro step [s] when there is no schedule; default: the FMUs' DefaultExperiment step, else 1 s."""
    loop: LoopSpec | None = None
    """Iterate algebraic loops instead of rejecting them."""
    event_tolerance: PositiveSeconds = 1e-3
    """Time [s] within which events are located (when every unit can roll back)."""
    check_bounds: bool = True
    """Fail when an output leaves its declared min/max."""
    snap_to_grid: bool = False
    """Move phase boundaries and the end onto fixed-step FMUs' grid (with a note) instead of refusing."""


class EventSpec(_Model):
    """A threshold crossing the master lands on (by rejecting and redoing the step)."""

    name: Name
    """Name in the results."""
    signal: SignalName
    """`unit.output` to watch."""
    above: Quantity | None = None
    """Fires when the signal rises to this value (in the signal's unit, or {value, unit})."""
    below: Quantity | None = None
    """Fires when the signal falls to this value."""
    stop: bool = False
    """End the run at the event."""

    @model_validator(mode="after")
    def _one_threshold(self):
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' and 'below'")
        return self


class GroupSpec(_Model):
    """Signals recorded on one time base."""

    name: Name = "main"
    """Group name (`/time/<name>` in the file)."""
    signals: list[str] = ["*"]
    """`unit.port` names or globs (`battery.*`, `*.T_*`); outputs and connected inputs."""
    every: Positive = 1
    """Record every n-th communication point."""
    interval: PositiveSeconds | None = None
    """Instead of `every`: at least this long between rows."""


class StreamSpec(_Model):
    """Recorded signals sent somewhere while the run goes, by an output kind a package registers
    (entry point group `evtwin.output_kinds`, e.g. `service`: the live twin service)."""

    kind: Name
    """The output kind."""
    settings: dict[str, Any] = {}
    """The kind's own settings (where to, which signals)."""


class OutputsSpec(_Model):
    """What the result file holds, and where else the run's signals go."""

    file: str | None = None
    """Result path, relative to the current folder (inputs: to the scenario file); default
    `results/<scenario>.h5`; `-o` overrides."""
    compression: Literal["gzip", "lzf", "none"] = "gzip"
    """HDF5 compression filter."""
    groups: list[GroupSpec] = [GroupSpec()]
    """Output groups; a signal is stored in the first group that names it."""
    streams: list[StreamSpec] = []
    """Outputs of other kinds, fed at every communication point besides the file."""


class SummarySpec(_Model):
    """One row of the summary table printed at the end of a run."""

    label: str
    """Row label."""
    signal: SignalName
    """`unit.port`."""
    reduce: Literal["min", "max", "mean", "initial", "final", "delta", "integral"]
    """How to reduce the signal over the run (integral: over time, at every communication point)."""
    unit: str | None = None
    """Unit to print in (integral: of the integrated quantity, e.g. kWh for a power in W)."""


class PlotSpec(_Model):
    """One panel of `evtwin plot`."""

    title: str
    """Panel title."""
    signals: list[str]
    """`unit.port` names or globs."""
    unit: str | None = None
    """Unit to plot in."""


class SSPImport(_Model):
    """An SSP whose FMUs, connections and parameters join the scenario's."""

    file: str
    """The .ssp file (or a folder holding SystemStructure.ssd), relative to the scenario file."""
    parameter_set: str | None = None
    """The SSP's named parameter set to apply; default: every set, in order."""


class ScenarioModel(_Model):
    """An evtwin scenario: units, connections, usage schedule, algorithm, events and outputs."""

    version: Literal[1] = 1
    """Format version."""
    description: str = ""
    """Free text."""
    from_ssp: str | SSPImport | None = None
    """An SSP (System Structure and Parameterization 1.0) whose components become units before `units`
    (a file name, or {file, parameter_set}); its experiment and algorithm apply where none is given."""
    experiment: Experiment
    """Start and duration."""
    shared: dict[Name, Any] = {}
    """Facts several units take, stated once: {name: value}; wins over what a unit states (a vehicle
    preset's pack)."""
    units: dict[Name, UnitSpec] = Field(min_length=1)
    """Units by instance name."""
    connections: list[ConnectionSpec] = []
    """Output -> input connections."""
    schedule: ScheduleSpec | None = None
    """Usage schedule; exposed as the unit `schedule`."""
    algorithm: AlgorithmSpec = AlgorithmSpec()
    """Master algorithm options."""
    events: list[EventSpec] = []
    """Threshold crossings to land on."""
    outputs: OutputsSpec = OutputsSpec()
    """What to record."""
    summary: list[SummarySpec] | None = None
    """Rows of the end-of-run table (default: chosen from the recorded ports' units)."""
    plots: list[PlotSpec] | None = None
    """Panels of `evtwin plot` (default: by unit: temperatures, powers, 0-1 signals)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files."""
    schema = ScenarioModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "evtwin scenario"
    return schema

"""``evtwin inspect FMU``: what an FMU declares, and what that means for co-simulating it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cosim.fmu.description import FMUDescription, file_sha256, read_description
from cosim.fmu.variables import unknown_units


def cosim_hints(d: FMUDescription) -> list[str]:
    """What the FMU's declarations mean for a co-simulation with it, one sentence each."""
    hints = []
    if not d.runs_here:
        hints.append(
            f"no binary for {d.platform}: it cannot run on this machine "
            f"(binaries for: {', '.join(d.platforms) or 'none'})."
        )
    if not d.can_vary_step:
        step = f" ({d.default_step:g} s is its default)" if d.default_step else ""
        hints.append(
            "fixed step only (canHandleVariableCommunicationStepSize=false): give it one constant "
            f"communication step{step}; phase-dependent step changes cannot apply to it."
        )
    if not d.can_save_state:
        hints.append(
            "no rollback (canGetAndSetFMUstate=false): step rejection is unavailable in a scenario "
            "with this FMU; events land on the next communication point instead."
        )
    elif not d.can_serialize_state:
        hints.append(
            "rollback in memory only: its state can be saved and restored, but not serialized "
            "to a checkpoint file."
        )
    else:
        hints.append("rollback and checkpoints: its state can be saved, restored and serialized.")
    if d.needs_execution_tool:
        hints.append(
            "needs an execution tool: the tool that exported it (for pythonfmu: a Python with the "
            "model's imports) must be installed where it runs."
        )
    if d.one_instance_per_process:
        hints.append("one instance per process: run each copy in its own worker process.")
    unknown = unknown_units(d.ports)
    if unknown:
        listed = ", ".join(f"{unit} ({port})" for port, unit in sorted(unknown.items()))
        hints.append(
            f"units evtwin cannot convert: {listed}. Connect these ports only to ports with the same "
            "unit symbol, or add the unit to cosim/si.py."
        )
    for u in d.units:
        mismatch = u.registry_mismatch()
        if mismatch and mismatch != "unknown to evtwin":
            hints.append(f"unit {u.name!r}: {mismatch}; conversions through it would not match the FMU.")
    return hints + _variable_hints(d)


def _variable_hints(d: FMUDescription) -> list[str]:
    """What the FMU's variables mean for a scenario: what cannot be carried, units to state, steps."""
    hints = []
    strings = [p.name for p in d.ports if p.type == "String"]
    if strings:
        hints.append(
            f"String parameters ({', '.join(strings)}) can be set in 'parameters', not connected or recorded."
        )
    hints += [f"{name} is {why}." for name, why in d.unsupported.items()]
    if d.unitless:
        example = ", ".join(f"{n}: <unit>" for n in d.unitless[:3])
        hints.append(
            f"Real ports without a unit: {', '.join(d.unitless)}. State their units in the scenario, "
            f"e.g. port_units: {{{example}}}"
        )
    if d.internal_step:
        hints.append(
            f"its own solver steps at {d.internal_step:g} s (fixedInternalStepSize); that is not a "
            "communication step: any works."
        )
    return hints


def as_dict(d: FMUDescription) -> dict[str, Any]:
    """The description as JSON-ready data (``evtwin inspect --json``)."""
    port_names = {p.name for p in d.ports}
    return {
        "path": str(d.path),
        "sha256": file_sha256(d.path),
        "fmiVersion": d.fmi_version,
        "modelName": d.model_name,
        "modelIdentifier": d.model_identifier,
        "guid": d.guid,
        "generationTool": d.generation_tool,
        "description": d.description,
        "defaultStep": d.default_step,
        "internalStep": d.internal_step,
        "unsupported": d.unsupported,
        "unitless": list(d.unitless),
        "platforms": list(d.platforms),
        "platform": d.platform,
        "runsHere": d.runs_here,
        "capabilities": {
            "canHandleVariableCommunicationStepSize": d.can_vary_step,
            "canGetAndSetFMUstate": d.can_save_state,
            "canSerializeFMUstate": d.can_serialize_state,
            "needsExecutionTool": d.needs_execution_tool,
            "canBeInstantiatedOnlyOncePerProcess": d.one_instance_per_process,
        },
        "variables": [
            {
                "name": v.name,
                "causality": v.causality,
                "variability": v.variability,
                "type": v.type,
                "unit": v.unit,
                "start": v.start,
                "min": v.min,
                "max": v.max,
                "description": v.description,
                "valueReference": v.value_reference,
                "port": v.name in port_names,
            }
            for v in d.variables
        ],
        "units": [
            {"name": u.name, "si": u.si_text, "registry": u.registry_mismatch() or "ok"} for u in d.units
        ],
        "unknownUnits": unknown_units(d.ports),
        "hints": cosim_hints(d),
    }


@click.command("inspect")
@click.argument("fmu", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--no-validate", is_flag=True, help="Read a model description that fmpy's checks reject.")
def inspect(fmu: Path, as_json: bool, no_validate: bool) -> None:
    """Show an FMU's variables, units and capabilities, and what they mean for co-simulation.

    Given a result file (.h5), show how its run ended, how far it got and what it records.
    """
    from cosim.results.show import is_hdf5, show

    if fmu.is_file() and is_hdf5(fmu):
        show(fmu, as_json)
        return
    d = read_description(fmu, validate=not no_validate, require_binary=False)
    if as_json:
        click.echo(json.dumps(as_dict(d), indent=2))
        return
    _print(d)


def _print(d: FMUDescription) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped or captured output keeps whole names on one line rather than folding them at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]{d.model_name}[/bold]  FMI {d.fmi_version} co-simulation")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(no_wrap=True)
    facts.add_column(overflow="fold")
    for key, value in (
        ("file", str(d.path)),
        ("GUID", d.guid),
        ("generation tool", d.generation_tool or "-"),
        ("description", d.description or "-"),
        ("default step", f"{d.default_step:g} s" if d.default_step else "-"),
        ("internal solver step", f"{d.internal_step:g} s" if d.internal_step else "-"),
        ("platforms", ", ".join(d.platforms) + (" (runs here)" if d.runs_here else f" (needs {d.platform})")),
    ):
        facts.add_row(key, value)
    console.print(facts)

    variables = Table(title="variables", title_justify="left")
    for column in ("name", "causality", "type", "unit", "start"):
        variables.add_column(column, no_wrap=True)
    variables.add_column("description", overflow="fold")
    for v in d.variables:
        variables.add_row(
            v.name,
            v.causality,
            v.type,
            v.unit if v.port_type == "Real" else "",
            "" if v.start is None else str(v.start),
            v.description,
        )
    console.print(variables)

    if d.units:
        units = Table(title="units declared", title_justify="left")
        for column in ("unit", "SI definition", "evtwin"):
            units.add_column(column)
        for u in d.units:
            units.add_row(u.name, u.si_text, u.registry_mismatch() or "ok")
        console.print(units)

    caps = Table(title="capabilities", title_justify="left")
    caps.add_column("capability")
    caps.add_column("")
    for label, flag in (
        ("variable communication step", d.can_vary_step),
        ("get/set state", d.can_save_state),
        ("serialize state", d.can_serialize_state),
        ("needs execution tool", d.needs_execution_tool),
        ("one instance per process", d.one_instance_per_process),
    ):
        caps.add_row(label, "yes" if flag else "no")
    console.print(caps)

    console.print("[bold]for co-simulation[/bold]")
    for hint in cosim_hints(d):
        console.print(f"- {hint}")

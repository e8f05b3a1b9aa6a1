"""Resolving a scenario's units: FMU files and built-in types, their settings and parameters.

FMU descriptions are read without instantiating the FMU; a built-in type is constructed once
to learn its ports. Parameters are converted to the port's unit and checked against the range
the port declares.
"""

from __future__ import annotations

import inspect
from typing import Any

from cosim import registry
from cosim.errors import EvtwinError, ScenarioError
from cosim.master import wiring
from cosim.scenario.checking import SCHEDULE, Findings, UnitPlan, out_of_range, suggest
from cosim.scenario.model import to_unit
from cosim.scenario.shared_values import provided_values
from cosim.unit import PARAMETER


def resolve_units(f: Findings) -> dict[str, UnitPlan]:
    """Every unit that could be resolved, by name; the others are in ``f.failed``."""
    plans: dict[str, UnitPlan] = {}
    if f.m.schedule is not None and SCHEDULE in f.m.units:
        f.bad(("units", SCHEDULE), "the name 'schedule' is taken by the usage schedule; rename this unit")
    for name, spec in f.m.units.items():
        where = ("units", name)
        try:
            plan = _fmu(f, name, spec, where) if spec.fmu is not None else _typed(f, name, spec, where)
        except ScenarioError as err:
            for p in err.problems:
                f.bad(where + (("fmu",) if spec.fmu is not None else ("type",)), p)
            f.failed.add(name)
            continue
        if plan is None:
            f.failed.add(name)
            continue
        plan.parameters = _parameters(f, plan, spec.parameters, where)
        plan.every = spec.every
        plans[name] = plan
    return plans


def _fmu(f: Findings, name: str, spec, where) -> UnitPlan:
    path = (f.base / spec.fmu).resolve()
    if path.is_dir():
        raise ScenarioError(
            f"{spec.fmu!r} is a folder ({path}); an FMU is a zip file: zip the folder's contents "
            "(modelDescription.xml at the top) into a .fmu file"
        )
    if not path.is_file():
        _build_missing(f, name, spec, path)
    try:
        from cosim.fmu import read_description
    except ImportError:
        raise ScenarioError("FMU support (cosim.fmu) is not available in this installation") from None
    from cosim.fmu.description import ports_with_units

    desc = read_description(path, validate=spec.validate_fmu)
    try:
        ports = ports_with_units(desc, spec.port_units)
    except ValueError as err:
        for line in str(err).splitlines():
            port, _, problem = line.partition(": ")
            f.bad((*where, "port_units", port), problem)
        ports = desc.ports
    facts = {"fmu": str(path), "guid": desc.guid, "fmiVersion": desc.fmi_version, "model": desc.model_name}
    if spec.port_units:
        facts["port_units"] = dict(spec.port_units)

    def make(path=path, spec=spec, name=name):
        from cosim.fmu import FMUUnit, IsolatedFMU

        cls = IsolatedFMU if spec.isolate else FMUUnit
        return cls(
            path,
            name,
            validate=spec.validate_fmu,
            debug_logging=spec.debug_logging,
            port_units=dict(spec.port_units) or None,
        )

    return UnitPlan(
        name,
        "fmu",
        {p.name: p for p in ports},
        make,
        can_save_state=bool(desc.can_save_state),
        facts=facts,
        can_vary_step=bool(desc.can_vary_step),
        description=desc,
        unsupported=desc.unsupported,
    )


def _build_missing(f: Findings, name: str, spec, path) -> None:
    builders = registry.fmu_builders()
    if path.name not in builders:
        known = f"evtwin builds these when missing: {', '.join(sorted(builders))}; " if builders else ""
        raise ScenarioError(
            f"FMU file {spec.fmu!r} does not exist (looked for {path}); {known}"
            "build the C FMUs that ship with evtwin with `evtwin fmus build-c`, or export the FMU "
            "from its tool and fix the path"
        )
    f.say(f"building {path.name} (named by units.{name}.fmu, not found at {path})")
    try:
        registry.build_fmu(path.name, path.parent)
    except EvtwinError:
        raise
    except Exception as err:
        raise ScenarioError(f"building {path.name} failed: {type(err).__name__}: {err}") from err


def _typed(f: Findings, name: str, spec, where) -> UnitPlan | None:
    cls = registry.unit_type(spec.type)
    settings = dict(spec.settings)
    for key in getattr(cls, "path_settings", ()):
        if isinstance(settings.get(key), str):
            settings[key] = str((f.base / settings[key]).resolve())
    unknown = _unknown_settings(cls, settings)
    if unknown:
        for key, hint in unknown:
            f.bad((*where, "settings", key), f"unknown setting {key!r} of unit type {spec.type!r}{hint}")
        return None
    try:
        unit = cls(**settings)
    except EvtwinError as err:
        for p in getattr(err, "problems", [str(err)]):
            f.bad((*where, "settings"), p)
        return None
    except (TypeError, ValueError, KeyError, OSError) as err:
        f.bad((*where, "settings"), f"unit type {spec.type!r}: {err}")
        return None

    why = wiring.not_a_unit(unit)
    if why is not None:
        f.bad((*where, "type"), f"unit type {spec.type!r} makes an object that {why}")
        return None

    def make(cls=cls, settings=settings):
        return cls(**settings)

    return UnitPlan(
        name,
        "type",
        {p.name: p for p in unit.ports()},
        make,
        can_save_state=bool(unit.can_save_state),
        direct_feedthrough=bool(unit.direct_feedthrough),
        steps_ahead=bool(unit.steps_ahead),
        facts={"type": spec.type, "class": f"{cls.__module__}.{cls.__qualname__}"},
        can_vary_step=bool(unit.can_vary_step),
        shared_values=provided_values(unit),
        shared_parameters=dict(getattr(cls, "SHARED_PARAMETERS", {})),
    )


def _unknown_settings(cls, settings: dict) -> list[tuple[str, str]]:
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    params = sig.parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    known = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return [
        (key, f"{suggest(key, known, n=2)} (settings: {', '.join(known)})")
        for key in settings
        if key not in known
    ]


def _parameters(f: Findings, plan: UnitPlan, given: dict[str, Any], where) -> dict[str, Any]:
    out = {}
    params = {n: p for n, p in plan.ports.items() if p.causality == PARAMETER}
    for key, value in given.items():
        at = (*where, "parameters", key)
        port = params.get(key)
        other = plan.ports.get(key)
        if port is None and other is not None:
            f.bad(at, f"{key!r} is an {other.causality} of {plan.name!r}, not a parameter")
            continue
        if port is None and key in plan.unsupported:
            f.bad(at, f"{key!r} is {plan.unsupported[key]}")
            continue
        if port is None:
            f.bad(at, f"{plan.name!r} has no parameter {key!r}{suggest(key, list(params), cutoff=0.5)}")
            continue
        if port.type in ("Boolean", "String") or isinstance(value, bool):
            out[key] = value
            continue
        try:
            v = to_unit(value, port.unit)
        except ValueError as err:
            f.bad(at, f"found {value!r}, expected a number in [{port.unit}] or {{value, unit}} ({err})")
            continue
        problem = out_of_range(port, v)
        if problem:
            shown = repr(value) if isinstance(value, int | float) else f"{value!r} ({v:g} {port.unit})"
            f.bad(at, f"found {shown}: {problem}")
            continue
        out[key] = int(v) if port.type == "Integer" else v
    return out

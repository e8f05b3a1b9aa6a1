"""Unit types and FMU builders contributed through entry points, so the engine imports none of them.

- ``evtwin.unit_types``: ``name = "module:Class"``; a scenario's ``type: name`` makes
  ``Class(**settings)``. A scenario may also name a class by import path,
  ``type: "pkg.mod:Class"``. Settings listed in the class attribute ``path_settings`` are paths,
  resolved against the scenario file.
- ``evtwin.fmu_builders``: ``"BatteryTwin.fmu" = "module:build"``; ``build(out_dir) -> Path``
  builds that FMU into ``out_dir`` when a scenario names it and it is missing.
- ``evtwin.climates``: ``miami = "module:function"``; ``function()`` returns the
  :class:`cosim.schedule.Ambient` a schedule's ``ambient: {profile: miami}`` plays.
- ``evtwin.file_kinds``: ``name = "module:KIND"``; other YAML files ``evtwin validate`` checks.
  ``KIND.claims(data) -> bool`` says from a file's top-level mapping whether it is one;
  ``KIND.check(path, say) -> (summary, warnings)`` checks it or raises :class:`ScenarioError`.
- ``evtwin.output_kinds``: ``name = "module:Class"``; a scenario's ``outputs: streams: [{kind: name,
  settings: {...}}]``. ``Class.signals(settings, available) -> list[str]`` names the ``unit.port``
  signals it reads (ValueError naming a bad setting); ``Class(settings)`` is a
  :class:`cosim.master.observer.Observer` with ``close()``, called once the run ends.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError

#: The engine's own unit types (also registered as entry points; listed here so they work from a source tree).
BUILTIN_TYPES = {
    "constant": "cosim.sources:Constant",
    "table": "cosim.sources:TableSource",
}


def _load(spec: str) -> Any:
    from importlib import import_module

    module, _, attr = spec.partition(":")
    obj = import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def unit_type_names() -> dict[str, str]:
    """Every registered unit type, name -> ``module:Class``."""
    names = {ep.name: ep.value for ep in entry_points(group="evtwin.unit_types")}
    names.update(BUILTIN_TYPES)
    return names


def unit_type(name: str) -> type:
    """The class registered as ``name``.

    Raises
    ------
    ScenarioError
        Unknown name (with close matches), or a registered class that cannot be imported.
    """
    if ":" in name:
        # A class by import path, for units that live in the user's own code.
        try:
            return _load(name)
        except (ImportError, AttributeError) as err:
            raise ScenarioError(f"unit type {name!r} cannot be imported: {err}") from None
    names = unit_type_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ScenarioError(f"unknown unit type {name!r}; {hint}known types: {', '.join(sorted(names))}")
    try:
        return _load(names[name])
    except (ImportError, AttributeError) as err:
        raise ScenarioError(
            f"unit type {name!r} is registered as {names[name]!r} but cannot be loaded: {err}"
        ) from None


def fmu_builders() -> dict[str, str]:
    """FMU file name -> ``module:function`` that builds it."""
    return {ep.name: ep.value for ep in entry_points(group="evtwin.fmu_builders")}


def build_fmu(file_name: str, out_dir: Path) -> Path:
    """Build the FMU registered under ``file_name`` into ``out_dir``; the path of the built file."""
    spec = fmu_builders()[file_name]
    try:
        builder = _load(spec)
    except (ImportError, AttributeError) as err:
        raise ScenarioError(f"the builder of {file_name} ({spec}) cannot be loaded: {err}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    built = Path(builder(out_dir))
    if built.resolve() != (out_dir / file_name).resolve():
        import shutil

        shutil.copyfile(built, out_dir / file_name)
    return out_dir / file_name


def climate_names() -> dict[str, str]:
    """Every registered climate, name -> ``module:function``."""
    return {ep.name: ep.value for ep in entry_points(group="evtwin.climates")}


def climate(name: str) -> Any:
    """The ambient profile (a :class:`cosim.schedule.Ambient`) registered as climate ``name``.

    Raises
    ------
    ValueError
        Unknown name (with close matches and the registered names), or a registration that cannot be loaded.
    """
    names = climate_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        known = ", ".join(sorted(names)) or "none (is the package installed?)"
        raise ValueError(f"no climate named {name!r}; {hint}registered climates: {known}")
    try:
        factory = _load(names[name])
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"climate {name!r} is registered as {names[name]!r} but cannot be loaded: {err}"
        ) from None
    return factory()


def output_kind(name: str) -> Any:
    """The class registered as output kind ``name``; ValueError naming the registered kinds."""
    names = {ep.name: ep.value for ep in entry_points(group="evtwin.output_kinds")}
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        known = ", ".join(sorted(names)) or "none (is the package installed?)"
        raise ValueError(f"no output kind {name!r}; {hint}registered kinds: {known}")
    try:
        return _load(names[name])
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"output kind {name!r} is registered as {names[name]!r} but cannot be loaded: {err}"
        ) from None


def file_kinds() -> dict[str, Any]:
    """The file kinds other packages contribute to ``evtwin validate``, name -> object (see above).

    A registered kind that cannot be loaded is left out: validating a scenario must not depend on it.
    """
    kinds = {}
    for ep in entry_points(group="evtwin.file_kinds"):
        try:
            kinds[ep.name] = ep.load()
        except (ImportError, AttributeError):
            continue
    return kinds

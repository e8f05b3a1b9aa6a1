"""``evtwin validate`` on a fleet file: the file, and the scenarios of vehicles covering every choice it draws.

Registered in the ``evtwin.file_kinds`` entry point group, so the engine's ``validate`` knows a fleet
file by its content (``vehicles`` at the top, no ``units``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from cosim.errors import ScenarioError

#: Attributes whose every drawn value some checked vehicle has.
COVERED = ("preset", "climate", "style", "habit", "parking")


def covering(vehicles: list) -> list:
    """A few vehicles that between them have every drawn value of :data:`COVERED` (greedy)."""
    missing = {(a, getattr(v, a)) for v in vehicles for a in COVERED}
    chosen = []
    for v in vehicles:
        new = {(a, getattr(v, a)) for a in COVERED} & missing
        if new:
            chosen.append(v)
            missing -= new
        if not missing:
            break
    return chosen


class _FleetFileKind:
    name = "fleet"

    @staticmethod
    def claims(data: dict) -> bool:
        return "vehicles" in data and "units" not in data

    @staticmethod
    def check(path: str | Path, say: Callable[[str], None] = lambda s: None) -> tuple[str, list[str]]:
        """``(one-line summary, warnings)``; raises :class:`ScenarioError` listing every problem."""
        from cosim import scenario
        from fleet import spec
        from fleet.cli import CPU_S_PER_VEHICLE_YEAR
        from fleet.task import vehicle_yaml

        fleet = spec.load(path)
        problems: list[str] = []
        sample = covering(fleet.vehicles)
        with tempfile.TemporaryDirectory(prefix="evtwin-fleet-check-") as tmp:
            packed = fleet.model.battery == "in_process" and fleet.model.resolution == "fleet"
            for v in sample:  # the battery in-process: the same ports as the FMU, nothing to build
                text = vehicle_yaml(v, "in_process", fleet.model.resolution, None, packed=packed)
                file = Path(tmp) / f"{v.vehicle_id}.yaml"
                file.write_text(text, encoding="utf-8")
                try:
                    scenario.check(file)
                except ScenarioError as err:
                    problems += [f"{path}: vehicle {v.vehicle_id}'s scenario: {p}" for p in err.problems]
        if problems:
            raise ScenarioError(problems)
        from fleet.runner import core_time

        years = fleet.vehicle_years
        cpu = core_time(years * CPU_S_PER_VEHICLE_YEAR[fleet.model.battery])
        summary = (f"fleet, {len(fleet.vehicles)} vehicles x {fleet.model.years:g} years = {years:g} vehicle-years "
                   f"(about {cpu}); the scenarios of "
                   f"{len(sample)} vehicles covering every drawn choice check")
        return summary, []


FLEET_FILE = _FleetFileKind()

"""A fleet run's folder: per-vehicle daily tables as they finish, the fleet table, the metadata.

Layout of ``DIR``::

    fleet.yaml            the fleet file as run
    metadata.json         seed, vehicle count, package versions, times
    vehicles/v00000.h5    one vehicle's daily table, its drawn attributes, its trace when asked (written
                          whole, then renamed)
    failed/v00003.txt     a vehicle that failed, with its error (removed once it succeeds)
    fleet.h5              every vehicle-day in one table, with the vehicles' attributes

A vehicle's file appears by an atomic rename once it is complete, so whatever stops the run leaves
only whole files, and ``--resume`` skips them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import EvtwinError


class FleetStore:
    """The folder of one fleet run."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.vehicles_dir = self.root / "vehicles"
        self.failed_dir = self.root / "failed"

    # --- the batch runner's store protocol -----------------------------------------------------------
    def done(self) -> set[str]:
        if not self.vehicles_dir.is_dir():
            return set()
        return {p.stem for p in self.vehicles_dir.glob("*.h5")}

    def save(self, key: str, result: dict[str, Any]) -> None:
        import h5py

        self.vehicles_dir.mkdir(parents=True, exist_ok=True)
        final = self.vehicles_dir / f"{key}.h5"
        tmp = final.with_suffix(".h5.part")
        with h5py.File(tmp, "w") as f:
            for name, col in result["table"].items():
                f.create_dataset(f"daily/{name}", data=col)
            for name in ("annual_km", "steps", "cpu_s", "wall_s"):
                f.attrs[name] = result[name]
            for name, col in result.get("trace", {}).items():  # asked-for vehicles only
                f.create_dataset(f"trace/{name}", data=col, compression="lzf")
            f.attrs["scenario"] = result["scenario"]
            f.attrs["notes"] = json.dumps(result.get("notes", []))
            f.attrs["vehicle"] = json.dumps(result["vehicle"])
        os.replace(tmp, final)
        (self.failed_dir / f"{key}.txt").unlink(missing_ok=True)

    def fail(self, key: str, message: str) -> None:
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        (self.failed_dir / f"{key}.txt").write_text(message + "\n", encoding="utf-8")

    # --- the run as a whole --------------------------------------------------------------------------
    def prepare(self, fleet_text: str, resume: bool, metadata: dict[str, Any]) -> None:
        """Create the folder, or check that a resumed one ran the same fleet file.

        Raises
        ------
        EvtwinError
            When the folder holds another run (or this one without ``resume``).
        """
        saved = self.root / "fleet.yaml"
        if saved.exists():
            if not resume:
                raise EvtwinError(f"{self.root} holds a fleet run already: add --resume to finish it, or choose "
                                  "another output folder")
            if saved.read_text(encoding="utf-8") != fleet_text:
                raise EvtwinError(f"{self.root} holds a run of a different fleet file ({saved}); "
                                  "choose another output folder")
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_metadata(metadata)
        tmp = saved.with_suffix(".part")
        tmp.write_text(fleet_text, encoding="utf-8")
        os.replace(tmp, saved)

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        path = self.root / "metadata.json"
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(metadata, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def metadata(self) -> dict[str, Any]:
        return json.loads((self.root / "metadata.json").read_text(encoding="utf-8"))

    def notes(self) -> dict[str, list[str]]:
        """The battery twin's warnings of each finished vehicle that had any."""
        import h5py

        out = {}
        for path in sorted(self.vehicles_dir.glob("*.h5")):
            with h5py.File(path, "r") as f:
                notes = json.loads(f.attrs.get("notes", "[]"))
            if notes:
                out[path.stem] = notes
        return out

    def failures(self) -> dict[str, str]:
        if not self.failed_dir.is_dir():
            return {}
        return {p.stem: p.read_text(encoding="utf-8").strip() for p in sorted(self.failed_dir.glob("*.txt"))}

    def read_vehicle(self, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(attributes, daily columns) of one finished vehicle."""
        import h5py

        with h5py.File(self.vehicles_dir / f"{key}.h5", "r") as f:
            attrs = json.loads(f.attrs["vehicle"])
            attrs["annual_km"] = float(f.attrs["annual_km"])
            attrs["cpu_s"] = float(f.attrs["cpu_s"])
            daily = {name: f["daily"][name][()] for name in f["daily"]}
        return attrs, daily

    def collect(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(vehicle-days, vehicles) columns of the finished vehicles, as :func:`read_fleet_table` gives them."""
        columns: dict[str, list[np.ndarray]] = {}
        vehicles: dict[str, list[Any]] = {}
        for n, key in enumerate(sorted(self.done())):
            attrs, daily = self.read_vehicle(key)
            columns.setdefault("vehicle", []).append(np.full(len(daily["day"]), n, dtype=np.int32))
            for name, col in daily.items():
                columns.setdefault(name, []).append(col)
            columns.setdefault("odometer_km", []).append(np.cumsum(daily["distance_km"]))
            for name, value in attrs.items():
                vehicles.setdefault(name, []).append(value)
        return ({name: np.concatenate(parts) for name, parts in columns.items()},
                {name: np.array(values) for name, values in vehicles.items()})

    def write_fleet_table(self) -> Path:
        """``fleet.h5``: one row per vehicle-day (``vehicle`` indexes ``vehicles``), from the finished vehicles."""
        import h5py

        days, vehicles = self.collect()
        path = self.root / "fleet.h5"
        tmp = path.with_suffix(".h5.part")
        with h5py.File(tmp, "w") as f:
            for name, data in days.items():
                f.create_dataset(f"days/{name}", data=data, compression="gzip")
            for name, data in vehicles.items():
                if data.dtype.kind == "U":
                    data = data.astype(h5py.string_dtype())
                f.create_dataset(f"vehicles/{name}", data=data)
            f.attrs["metadata"] = json.dumps(self.metadata(), default=str)
        os.replace(tmp, path)
        return path

    def table_is_current(self) -> bool:
        """Whether ``fleet.h5`` holds every finished vehicle (a run stopped by a kill never wrote it)."""
        path = self.root / "fleet.h5"
        if not path.exists():
            return False
        newest = max((p.stat().st_mtime_ns for p in self.vehicles_dir.glob("*.h5")), default=0)
        return path.stat().st_mtime_ns >= newest


def read_fleet_table(root: str | Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(vehicle-days, vehicles) columns of ``DIR/fleet.h5``."""
    import h5py

    path = Path(root) / "fleet.h5"
    if not path.exists():
        raise EvtwinError(f"{path} does not exist: run `evtwin fleet run FLEET.yaml -o {root}` first")
    with h5py.File(path, "r") as f:
        days = {name: f["days"][name][()] for name in f["days"]} if "days" in f else {}
        vehicles = {}
        for name in f.get("vehicles", {}):
            data = f["vehicles"][name][()]
            vehicles[name] = data.astype(str) if data.dtype.kind in "OS" else data
    return days, vehicles

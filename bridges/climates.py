"""The climates a vehicle can live in: one hourly year of ambient temperature each, with its provenance.

A scenario names one with ``ambient: {profile: NAME}``; the engine finds it through the entry-point
group ``evtwin.climates`` (each entry is one of the functions at the end of this module). Every file is
``t_hours,T_degC``, 8760 rows, hour 0 = 1 January 00:00 local standard time, played periodically.
``bridges/data/climates/PROVENANCE.md`` gives each file's source; ``scripts/build_climates.py``
rebuilds the files made here (the TMY3 extracts and the years built from normals).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

DATA = Path(str(files("bridges") / "data" / "climates"))


@dataclass(frozen=True)
class Climate:
    """One shipped climate: its file in ``bridges/data/climates``, its kind and where it comes from."""

    name: str
    file: str
    kind: str  # hot-humid, hot-dry, temperate, cold
    source: str  # "measured" (a real hourly year) or "normals" (built from monthly normals)
    description: str

    @property
    def path(self) -> Path:
        return DATA / self.file

    def ambient(self):
        """The :class:`cosim.schedule.Ambient` that plays this climate."""
        from cosim.schedule import Ambient

        return Ambient(file=self.path, time_column="t_hours", time_unit="h", column="T_degC", unit="degC")


CLIMATES: dict[str, Climate] = {
    c.name: c
    for c in (
        Climate("miami", "miami.csv", "hot-humid", "measured",
                "Miami, FL: an hourly year from NREL BLAST-Lite (airport observations)"),
        Climate("houston", "houston.csv", "hot-humid", "normals",
                "Houston Intercontinental Airport, TX: NOAA 1991-2020 normals with the ASHRAE diurnal range"),
        Climate("phoenix", "phoenix.csv", "hot-dry", "normals",
                "Phoenix Sky Harbor Airport, AZ: NOAA 1991-2020 normals with the ASHRAE diurnal range"),
        Climate("greensboro", "greensboro.csv", "temperate", "measured",
                "Greensboro Piedmont Triad Airport, NC: TMY3 hourly year (NREL, shipped with pvlib)"),
        Climate("minneapolis", "minneapolis.csv", "cold", "normals",
                "Minneapolis-St. Paul Airport, MN: NOAA 1991-2020 normals with the ASHRAE diurnal range"),
        Climate("sand_point", "sand_point.csv", "cold", "measured",
                "Sand Point, AK (subarctic maritime): TMY3 hourly year (NREL, shipped with pvlib)"),
    )
}


def climates_of_kind(kind: str) -> list[Climate]:
    """The shipped climates of one kind (``hot-humid``, ``hot-dry``, ``temperate``, ``cold``)."""
    found = [c for c in CLIMATES.values() if c.kind == kind]
    if not found:
        kinds = sorted({c.kind for c in CLIMATES.values()})
        raise ValueError(f"no climate of kind {kind!r}; kinds: {', '.join(kinds)}")
    return found


def read_hourly(name_or_path: str | Path) -> list[float]:
    """The 8760 hourly temperatures [degC] of a shipped climate (by name) or of a climate file."""
    path = CLIMATES[name_or_path].path if name_or_path in CLIMATES else Path(name_or_path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [float(row["T_degC"]) for row in csv.DictReader(fh)]


def normals_table(table: str) -> dict:
    """One station's monthly normals from ``normals.csv``: station, id, period, source, tmax/tmin [degF]."""
    with open(DATA / "normals.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["table"] == table]
    if len(rows) != 12:
        raise ValueError(f"normals.csv: table {table!r} has {len(rows)} months, expected 12")
    rows.sort(key=lambda r: int(r["month"]))
    first = rows[0]
    return {
        "station": first["station"],
        "station_id": first["station_id"],
        "period": first["period"],
        "source": first["source"],
        "tmax_degF": [float(r["tmax_degF"]) for r in rows],
        "tmin_degF": [float(r["tmin_degF"]) for r in rows],
    }


# Entry points (group ``evtwin.climates``): one function per climate.
def miami():
    return CLIMATES["miami"].ambient()


def houston():
    return CLIMATES["houston"].ambient()


def phoenix():
    return CLIMATES["phoenix"].ambient()


def greensboro():
    return CLIMATES["greensboro"].ambient()


def minneapolis():
    return CLIMATES["minneapolis"].ambient()


def sand_point():
    return CLIMATES["sand_point"].ambient()

"""Rebuild the climate files in bridges/data/climates/ that evtwin makes itself.

- From monthly normals (bridges/data/climates/normals.csv): houston.csv, phoenix.csv, minneapolis.csv,
  with the model of bridges/climate_normals.py.
- From the two TMY3 files in pvlib's wheel (pvlib/data/723170TYA.CSV, pvlib/data/703165TY.csv):
  greensboro.csv and sand_point.csv, the dry-bulb column unchanged. TMY3 rows are hour-ending local
  standard time (01:00 ... 24:00); the last row (31 Dec 24:00 = 1 Jan 00:00) becomes hour 0.
- From the TMY2 file in pvlib's wheel (pvlib/data/12839.tm2, Miami International Airport, typical
  months of 1961-1990): miami_tmy2.csv, the dry-bulb field (tenths of degC), hour-ending like TMY3.
  Not a climate fleets draw: a second measured Miami year for the checks of the normals.

Usage: python scripts/build_climates.py [PVLIB_DATA_DIR]
(without PVLIB_DATA_DIR only the files built from normals are rewritten; get the TMY3 files with
``pip download pvlib --no-deps`` and unzip the wheel)
"""

import csv
import sys
from pathlib import Path

from bridges.climate_normals import fahrenheit_to_celsius, hourly_year
from bridges.climates import DATA, normals_table

FROM_NORMALS = {"houston": "houston", "phoenix": "phoenix", "minneapolis": "minneapolis"}
FROM_TMY3 = {"greensboro": "723170TYA.CSV", "sand_point": "703165TY.csv"}
FROM_TMY2 = {"miami_tmy2": "12839.tm2"}
#: TMY2 record: the dry-bulb temperature [0.1 degC], characters 68-71 of each line (Marion & Urban 1995,
#: User's Manual for TMY2s, NREL, doi:10.2172/87130; the field widths pvlib's reader uses).
TMY2_DRY_BULB = slice(67, 71)


def write(name: str, values) -> None:
    with open(DATA / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["t_hours", "T_degC"])
        for hour, value in enumerate(values):
            out.writerow([hour, f"{value:.2f}"])


def from_normals(table: str) -> list[float]:
    normals = normals_table(table)
    tmax, tmin = fahrenheit_to_celsius(normals["tmax_degF"]), fahrenheit_to_celsius(normals["tmin_degF"])
    return list(hourly_year(tmax, tmin))


def read_tmy3(path: Path) -> list[float]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        next(fh)  # station line: id, name, state, time zone, latitude, longitude, elevation
        rows = list(csv.DictReader(fh))
    if len(rows) != 8760 or rows[-1]["Time (HH:MM)"] != "24:00":
        raise SystemExit(f"{path}: expected 8760 hourly rows ending at 24:00")
    values = [float(r["Dry-bulb (C)"]) for r in rows]
    return values[-1:] + values[:-1]


def read_tmy2(path: Path) -> list[float]:
    lines = path.read_text(encoding="ascii").splitlines()[1:]  # after the station line
    if len(lines) != 8760 or lines[-1][7:9] != "24":
        raise SystemExit(f"{path}: expected 8760 hourly records ending at hour 24")
    values = [int(line[TMY2_DRY_BULB]) / 10.0 for line in lines]
    return values[-1:] + values[:-1]


def main(pvlib_data: str | None) -> None:
    for name, table in FROM_NORMALS.items():
        write(name, from_normals(table))
    if pvlib_data:
        for name, file in FROM_TMY3.items():
            write(name, read_tmy3(Path(pvlib_data) / file))
        for name, file in FROM_TMY2.items():
            write(name, read_tmy2(Path(pvlib_data) / file))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

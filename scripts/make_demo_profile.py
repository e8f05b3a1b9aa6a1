"""Regenerate battery_fmu/data/profiles/demo_day.csv: one day of pack power and charger current.

The drives are the EPA UDDS speed trace (public domain, via NREL FASTSim; see the drive-cycle
provenance) turned into power at the pack with a plain road-load balance:
    P_wheel = (m a + m g Crr + 0.5 rho CdA v^2) v
    P_pack  = P_wheel / 0.88 when traction, P_wheel * 0.65 when braking (regeneration)
with m = 1850 kg, Crr = 0.007, CdA = 0.511 m2, rho = 1.2 kg/m3, plus 400 W of auxiliaries while
driving. Morning and evening commutes are two UDDS cycles each; the pack charges overnight at
a constant 16 A from 22:00 to 23:10. Ambient follows a day between 18 and 28 degC.

Usage: python scripts/make_demo_profile.py SHARED_UDDS_CSV OUT_CSV
"""

import csv
import math
import sys


def main(udds_path: str, out_path: str) -> None:
    with open(udds_path, encoding="utf-8-sig") as fh:
        speeds = [float(r["cycMps"]) for r in csv.DictReader(fh)]
    m, g, crr, cda, rho = 1850.0, 9.81, 0.007, 0.511, 1.2
    power = []
    for k in range(len(speeds) - 1):
        v0, v1 = speeds[k], speeds[k + 1]
        v, a = 0.5 * (v0 + v1), v1 - v0
        wheel = (m * a + (m * g * crr if v > 0 else 0.0) + 0.5 * rho * cda * v * v) * v
        pack = wheel / 0.88 if wheel >= 0 else wheel * 0.65
        power.append(pack + 400.0)
    drive = power + power  # two cycles per commute
    rows = []
    for t in range(0, 86400, 10):
        p_load, i_charge = 0.0, 0.0
        for start in (7 * 3600 + 1800, 17 * 3600 + 1800):
            if start <= t < start + len(drive):
                window = drive[t - start:t - start + 10]
                p_load = sum(window) / len(window)
        if 22 * 3600 <= t < 22 * 3600 + 70 * 60:
            i_charge = 16.0
        ambient = 23.0 - 5.0 * math.cos(2 * math.pi * (t - 4 * 3600) / 86400)
        rows.append((t, round(p_load, 1), i_charge, round(ambient, 2)))
    with open(out_path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["time_s", "P_load_W", "I_charge_A", "T_ambient_degC"])
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

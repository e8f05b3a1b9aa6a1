"""Regenerate quickstart_drive.csv: one day of pack power and speed for two commutes.

The drives are the EPA UDDS speed trace (public domain, via NREL FASTSim; see the drive-cycle
provenance in the project's shared data) turned into power at the pack with a road-load balance:
    P_wheel = (m a + m g Crr + 0.5 rho CdA v^2) v
    P_pack  = P_wheel / 0.88 when pulling, P_wheel * 0.65 when braking (regeneration)
with m = 1850 kg, Crr = 0.007, CdA = 0.511 m2, rho = 1.2 kg/m3, plus 400 W of auxiliaries
while driving (the same figures as the battery demo profile). Each commute is two UDDS
cycles back to back (2 x 1369 s), at 07:30 and 17:30. Rows hold for one second (step
interpolation); outside the drives power and speed are 0, and the last row (86400 s) closes
the day so that the table can repeat daily.

Usage: python make_quickstart_drive.py UDDS_CSV [OUT_CSV]
"""

import csv
import sys

STARTS = (7 * 3600 + 1800, 17 * 3600 + 1800)


def pack_power(speeds):
    m, g, crr, cda, rho = 1850.0, 9.81, 0.007, 0.511, 1.2
    out = []
    for k in range(len(speeds) - 1):
        v0, v1 = speeds[k], speeds[k + 1]
        v, a = 0.5 * (v0 + v1), v1 - v0
        wheel = (m * a + (m * g * crr if v > 0 else 0.0) + 0.5 * rho * cda * v * v) * v
        out.append(((wheel / 0.88 if wheel >= 0 else wheel * 0.65) + 400.0, v))
    return out


def main(udds_path, out_path="quickstart_drive.csv"):
    with open(udds_path, encoding="utf-8-sig") as fh:
        speeds = [float(r["cycMps"]) for r in csv.DictReader(fh)]
    commute = pack_power(speeds) * 2
    rows = [(0, 0.0, 0.0)]
    for start in STARTS:
        rows += [(start + k, p, v) for k, (p, v) in enumerate(commute)]
        rows.append((start + len(commute), 0.0, 0.0))
    rows.append((86400, 0.0, 0.0))
    with open(out_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time_s", "P_W", "v_mps"])
        for t, p, v in rows:
            w.writerow([t, f"{p:.3f}", f"{v:.4f}"])


if __name__ == "__main__":
    main(*sys.argv[1:])

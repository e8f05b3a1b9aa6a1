"""Draw docs/winter-limits.png from a run of scenarios/winter.yaml: the battery's limits reaching the car.

Usage: evtwin run scenarios/winter.yaml && python scripts/plot_winter.py results/winter.h5 docs/winter-limits.png

Left: Monday's first drive on a full, cold pack (the trace's hardest accelerations are cut).
Right: Wednesday's first drive on an emptying pack (the car slows, then is stranded).
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cosim.results import read_result  # noqa: E402

DRIVES = ((0, "Monday 07:30, SOC 80 %"), (2, "Wednesday 07:30, pack emptying"))


def main(result_path: str, out_path: str) -> None:
    r = read_result(result_path)
    t = r.times["main"]
    s = {name: sig.values for name, sig in r.signals.items()}
    fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex="col")
    for col, (day, title) in enumerate(DRIVES):
        start = day * 86400 + 7.5 * 3600
        m = (t >= start) & (t <= start + 1800)
        minutes = (t[m] - start) / 60
        speed = s["vehicle.speed"][m] * 3.6
        trace = speed + s["vehicle.speed_deficit"][m] * 3.6
        top, bottom = axes[0, col], axes[1, col]
        top.plot(minutes, trace, color="0.6", lw=1, label="US06 trace")
        top.plot(minutes, speed, color="C0", lw=1, label="vehicle")
        top.set_title(title)
        top.set_ylabel("speed [km/h]")
        bottom.plot(minutes, s["vehicle.P_battery"][m] / 1e3, color="C1", lw=1, label="drawn (P_battery)")
        bottom.plot(minutes, s["battery.P_discharge_max"][m] / 1e3, color="C3", lw=1, label="P_discharge_max")
        stranded = s["vehicle.stranded"][m] > 0.5
        if stranded.any():
            bottom.axvspan(minutes[stranded][0], minutes[-1], color="C3", alpha=0.1, label="stranded")
        bottom.set_ylabel("power [kW]")
        bottom.set_xlabel("minutes into the drive")
    axes[0, 0].legend(loc="upper right")
    axes[1, 1].legend(loc="upper right")
    fig.suptitle("-15 degC week, Model 3 RWD LFP on US06: the battery's limits reach the car")
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)


if __name__ == "__main__":
    main(*sys.argv[1:3])

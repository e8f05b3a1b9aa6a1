"""Draw docs/twin-estimation.png: the live twin's SOC and its 95 % band against the truth over a day.

    python scripts/plot_twin_estimation.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from twin_days import charge_day, figures, track  # noqa: E402


def main() -> None:
    run = track(charge_day(seed=1), soc_init=0.8)
    f = figures(run)
    hours = (run["t"] - run["t"][0]) / 3600.0
    fig, ax = plt.subplots(figsize=(9, 4))
    band = 1.96 * run["soc_std"]
    ax.fill_between(hours, 100 * (run["soc"] - band), 100 * (run["soc"] + band), color="tab:blue", alpha=0.25,
                    label="estimate, 95 % band")
    ax.plot(hours, 100 * run["soc"], color="tab:blue", lw=1.2, label="estimate")
    ax.plot(hours, 100 * run["true_soc"], color="black", lw=1.0, ls="--", label="truth (simulator)")
    ax.axvline(f["left_plateau_at_s"] / 3600.0, color="grey", lw=0.8)
    ax.set_xlabel("time [h]")
    ax.set_ylabel("SOC [%]")
    ax.set_ylim(0, 110)
    ax.set_title(f"Model 3 RWD LFP: two commutes, 11 kW charge; RMSE {100 * f['rmse_plateau']:.1f} % on the "
                 f"plateau, {100 * f['rmse_after']:.1f} % after 95 %")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "twin-estimation.png", dpi=110)
    print(f)


if __name__ == "__main__":
    main()

"""``type: usage_features``: a vehicle's per-period usage features from the running simulation.

The SOH forecasters read a vehicle's usage as the fleet run's daily table (:mod:`fleet.daily`) aggregated
per period (:func:`ml.dataset.aggregate`). This unit makes the same rows while the simulation runs: every
step it hands its inputs (the twelve :data:`fleet.daily.SIGNALS`, as a fleet run's observer reads them)
to a :class:`fleet.daily.DailySummary`, and at the end of each whole period from the start it sets its
outputs to that period's features (:data:`ml.dataset.FEATURES`, each port in the feature's unit) and
``soh`` to the capacity SOH at the period's end. So every feature has the one definition the forecaster
was trained on. Between period ends the outputs hold.

Periods are whole days counted from the start, which should be a midnight (days are calendar days, as in
a fleet run). The pack's capacity (``capacity_Ah`` of a cell times ``n_parallel``) sets the C-rates; a
scenario takes both from the vehicle preset's shared values.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

from cosim.unit import INPUT, OUTPUT, PARAMETER, Port, PythonUnit
from fleet.daily import DAY, DailySummary
from ml.dataset import FEATURES, aggregate
from ml.onnx_unit import duration

#: The inputs, in the order of :data:`fleet.daily.SIGNALS`: (port, unit, description).
SIGNAL_PORTS = (
    ("distance", "m", "Odometer"),
    ("P_battery", "W", "Mean power drawn at the pack terminals over the step (net of regen)"),
    ("P_regen", "W", "Mean power returned by braking over the step"),
    ("SOC", "1", "State of charge at the step's end"),
    ("I_terminal", "A", "Mean pack current over the step (discharge > 0)"),
    ("V_terminal", "V", "Pack voltage"),
    ("T_cell", "K", "Cell temperature"),
    ("EFC", "1", "Equivalent full cycles so far"),
    ("SOH_capacity", "1", "Capacity relative to nominal"),
    ("SOH_resistance", "1", "Resistance relative to new"),
    ("T_ambient", "K", "Outdoor temperature"),
    ("I_charge", "A", "Current from the chargers into the pack"),
)


class UsageFeatures(PythonUnit):
    """The usage features of each whole ``period`` (default 7 d) of the run; see the module docstring."""

    SHARED_PARAMETERS: ClassVar[dict[str, str]] = {"capacity_Ah": "capacity_Ah", "n_parallel": "n_parallel"}
    direct_feedthrough: ClassVar[bool] = False
    can_save_state: ClassVar[bool] = True

    def __init__(self, period: Any = "7 d"):
        seconds = duration(period)
        if seconds < DAY or abs(seconds / DAY - round(seconds / DAY)) > 1e-9:
            raise ValueError(f"period {period!r}: give whole days (at least 1 d)")
        self.period_days = int(round(seconds / DAY))
        self._ports = (
            Port("capacity_Ah", PARAMETER, "A.h", "Cell capacity (the pack's: n_parallel times it)", 100.0,
                 0.0),
            Port("n_parallel", PARAMETER, "1", "Cells in parallel", 1.0, 1.0),
            *(Port(name, INPUT, unit, text, 0.0) for name, unit, text in SIGNAL_PORTS),
            *(Port(name, OUTPUT, unit, f"{how} of the daily {col} over the last whole period", 0.0)
              for name, (col, how, unit) in FEATURES.items()),
            Port("soh", OUTPUT, "1", "Capacity SOH at the end of the last whole period", 1.0),
            Port("periods", OUTPUT, "1", "Whole periods finished so far", 0.0),
        )
        super().__init__()

    def ports(self) -> Sequence[Port]:
        return self._ports

    def setup(self, start_time: float) -> None:
        self.summary = DailySummary(float(self.capacity_Ah) * float(self.n_parallel))
        self.summary.reset(start_time)
        self._first_day = int(start_time // DAY)
        self._started = False
        self.soh, self.periods = 1.0, 0.0

    def _values(self) -> list[float]:
        return [float(getattr(self, name)) for name, _, _ in SIGNAL_PORTS]

    def do_step(self, t: float, h: float) -> None:
        if not self._started:  # the state at the start: the inputs of the first step
            self.summary.add(t, self._values())
            self._started = True
        end = t + h
        self.summary.add(end, self._values())
        if end >= (self._first_day + (self.periods + 1) * self.period_days) * DAY - 1e-6:
            self._close_period()

    def _close_period(self) -> None:
        """Set the outputs to the period that ended now and keep only the open day's accounts."""
        done = copy.deepcopy(self.summary)
        done.finish()  # the last day of the period is still open in the running summary
        table = done.table()
        n = self.period_days
        if len(table["day"]) >= n:
            row = aggregate({k: v[-n:] for k, v in table.items()}, n)
            for name in FEATURES:
                setattr(self, name, float(row[name][0]))
            self.soh = float(row["soh_true"][0])
        self.periods += 1.0
        self.summary.rows = []

    def save_state(self) -> Any:
        outs = [getattr(self, p.name) for p in self._ports if p.causality == OUTPUT]
        return copy.deepcopy(self.summary), self._started, outs

    def restore_state(self, state: Any) -> None:
        summary, self._started, outs = state
        self.summary = copy.deepcopy(summary)
        for p, v in zip((p for p in self._ports if p.causality == OUTPUT), outs, strict=True):
            setattr(self, p.name, v)

    def metadata(self) -> dict[str, str]:
        return {"type": "UsageFeatures", "period_days": str(self.period_days)}


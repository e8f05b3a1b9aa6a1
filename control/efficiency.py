"""Charger efficiency, grid to pack: a constant, or a curve over the power delivered to the pack.

Measured AC charging losses fall as the charging power rises (fixed overheads of the on-board
charger and the vehicle's electronics, spread over more power). The shipped curve
``adac2022_model3`` holds the ADAC's 2022 measurements on a Tesla Model 3 (energy from the grid
against energy the car reports into its battery): 15.2 % loss at 2.3 kW, 11.4 % at 3.5 kW and
7.7 % at 11 kW (ADAC test of AC charging losses, 2022, as reported by tracednews.com and
awsmheart.com). Between the points the efficiency is linear in pack power; beyond the ends it is
held at the end values. A constant (e.g. 0.93 for a DC fast charger, an assumption) is also accepted.

The curve is a :class:`battery_fmu.ops.Table1D`, so the MPC evaluates the same numbers through
its CasADi backend (``ops.interp``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from battery_fmu.ops import SCALAR, Table1D

#: name -> (grid power [W], efficiency [1]) points and where they come from.
NAMED_CURVES: dict[str, tuple[tuple[tuple[float, float], ...], str]] = {
    "adac2022_model3": (
        ((2300.0, 1.0 - 0.152), (3500.0, 1.0 - 0.114), (11000.0, 1.0 - 0.077)),
        "ADAC 2022 AC charging-loss test, Tesla Model 3: loss 15.2 % at 2.3 kW, 11.4 % at 3.5 kW, "
        "7.7 % at 11 kW",
    ),
}
DEFAULT_EFFICIENCY = "adac2022_model3"


class EfficiencyError(ValueError):
    """An efficiency setting that cannot be used; the message says what was expected."""


class ChargerEfficiency:
    """Grid-to-pack efficiency of a charger.

    Parameters
    ----------
    spec : float, str or mapping
        A constant in (0, 1]; the name of a shipped curve (``"adac2022_model3"``); or
        ``{"power": [...], "efficiency": [...], "unit": "kW"}`` with grid powers (in ``unit``,
        default W) and efficiencies at them.
    """

    def __init__(self, spec: float | str | Mapping[str, Any] = DEFAULT_EFFICIENCY):
        self.spec = spec
        self.source = ""
        self.constant: float | None = None
        self.table: Table1D | None = None
        if isinstance(spec, bool):
            raise EfficiencyError(
                f"efficiency must be a number in (0, 1], a curve name or a table, got {spec!r}"
            )
        if isinstance(spec, (int, float)):
            if not 0.0 < float(spec) <= 1.0:
                raise EfficiencyError(f"efficiency must be within (0, 1], got {spec!r}")
            self.constant = float(spec)
            self.source = "constant"
            return
        if isinstance(spec, str):
            if spec not in NAMED_CURVES:
                raise EfficiencyError(
                    f"unknown efficiency curve {spec!r}; known curves: {', '.join(sorted(NAMED_CURVES))} "
                    "(or give a number, or {power: [...], efficiency: [...], unit: kW})"
                )
            points, self.source = NAMED_CURVES[spec]
        elif isinstance(spec, Mapping):
            points = _table_points(spec)
            self.source = "user table"
        else:
            raise EfficiencyError(
                f"efficiency must be a number in (0, 1], a curve name or a table, got {spec!r}"
            )
        # Re-expressed over pack power (grid power x efficiency), so the pack side needs no iteration.
        pack = tuple(p * e for p, e in points)
        self.table = Table1D("charger_efficiency", pack, tuple(e for _, e in points))

    def at_pack_power(self, pack_power, ops=SCALAR):
        """Efficiency [1] when ``pack_power`` [W] reaches the pack."""
        if self.constant is not None:
            return self.constant
        return ops.interp(self.table, pack_power)

    def grid_power(self, pack_power, ops=SCALAR):
        """Power drawn from the grid [W] to deliver ``pack_power`` [W] to the pack (losses included)."""
        return pack_power / self.at_pack_power(pack_power, ops)

    def describe(self) -> str:
        """One line for docs and result metadata."""
        if self.constant is not None:
            return f"constant {self.constant:g}"
        return f"{self.spec if isinstance(self.spec, str) else 'table'} ({self.source})"


def _table_points(spec: Mapping[str, Any]) -> tuple[tuple[float, float], ...]:
    from cosim.si import UnitError, to_si

    unknown = set(spec) - {"power", "efficiency", "unit"}
    if unknown or "power" not in spec or "efficiency" not in spec:
        raise EfficiencyError(
            f"an efficiency table needs the keys power, efficiency and optionally unit (got {sorted(spec)})"
        )
    power, eff = spec["power"], spec["efficiency"]
    if (
        not (isinstance(power, Sequence) and isinstance(eff, Sequence))
        or len(power) != len(eff)
        or len(power) < 2
    ):
        raise EfficiencyError(
            "efficiency table: power and efficiency must be lists of the same length (>= 2)"
        )
    unit = str(spec.get("unit", "W"))
    try:
        watts = [to_si(float(p), unit) for p in power]
    except UnitError as err:
        raise EfficiencyError(f"efficiency table: {err}") from None
    if any(b <= a for a, b in zip(watts, watts[1:], strict=False)) or watts[0] <= 0.0:
        raise EfficiencyError(
            f"efficiency table: power must be positive and increase strictly, got {list(power)}"
        )
    if not all(0.0 < float(e) <= 1.0 for e in eff):
        raise EfficiencyError(f"efficiency table: every efficiency must be within (0, 1], got {list(eff)}")
    return tuple(zip(watts, (float(e) for e in eff), strict=True))

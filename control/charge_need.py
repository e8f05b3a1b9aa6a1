"""What a charge session needs: the trips ahead plus a reserve, the weekly top-up, and the price of energy.

- :class:`Reserve`: the SOC the car must still have when it comes home, set in ``%`` (of the pack),
  ``kWh`` or ``km`` (converted with the vehicle's consumption forecast).
- :class:`Tariff`: a time-of-use price [per kWh] by clock hour (a flat price, or clock times where the
  price changes), repeated daily.
- :func:`need_soc`: the SOC a session charges to when it charges for the trips: the reserve plus the
  forecast energy of the next departure day's trips with a margin for the day's variation, at least
  the minimum SOC, at most the cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cosim.errors import ScenarioError

DAY = 86400.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Reserve:
    """The reserve a car keeps after its trips: ``kind`` in ``soc`` [1], ``energy`` [J], ``distance`` [m]."""

    kind: str
    value: float

    @staticmethod
    def parse(spec: Any) -> Reserve | None:
        """``"20 %"``, ``0.2`` (SOC), ``"10 kWh"``, ``"50 km"``; None for None."""
        from cosim.scenario.model import to_unit

        if spec is None:
            return None
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            value, kind = float(spec), "soc"
        else:
            text = str(spec).strip()
            try:
                if text.endswith("%"):
                    value, kind = float(text[:-1]) / 100.0, "soc"
                elif text.lower().endswith("wh"):
                    value, kind = to_unit(text, "J"), "energy"
                else:
                    value, kind = to_unit(text, "m"), "distance"
            except ValueError:
                raise ScenarioError(
                    f"reserve: expected '20 %', '10 kWh' or '50 km', got {spec!r}"
                ) from None
        if not (value >= 0.0 and math.isfinite(value)) or (kind == "soc" and value > 1.0):
            raise ScenarioError(f"reserve: expected a reserve between 0 and the whole pack, got {spec!r}")
        return Reserve(kind, value)

    def soc(self, pack_energy: float, consumption: float) -> float:
        """The reserve as SOC [1], for a pack holding ``pack_energy`` [J] and ``consumption`` [J/m]."""
        if self.kind == "soc":
            return self.value
        energy = self.value if self.kind == "energy" else self.value * consumption
        return energy / pack_energy if pack_energy > 0.0 else 0.0

    def describe(self) -> str:
        unit = {"soc": (100.0, "%"), "energy": (1 / 3.6e6, "kWh"), "distance": (1e-3, "km")}[self.kind]
        return f"{self.value * unit[0]:g} {unit[1]}"


class Tariff:
    """A time-of-use price [currency per kWh] by time of day, the same every day.

    ``spec``: a number (a flat price), a list of 24 hourly prices, or a mapping of clock times to the
    price from then on (``{"00:00": 0.08, "06:00": 0.15, "16:00": 0.35, "21:00": 0.15}``).
    """

    def __init__(self, spec: Any):
        self.spec = spec
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            self.starts, self.prices = [0.0], [float(spec)]
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            if len(spec) != 24:
                raise ScenarioError(f"tariff: a list gives 24 hourly prices, got {len(spec)}")
            self.starts, self.prices = [3600.0 * h for h in range(24)], [float(v) for v in spec]
        elif isinstance(spec, Mapping) and spec:
            from cosim.schedule import clock_seconds

            try:
                pairs = sorted((clock_seconds(k), float(v)) for k, v in spec.items())
            except ValueError as err:
                raise ScenarioError(f"tariff: {err}") from None
            self.starts, self.prices = [a for a, _ in pairs], [v for _, v in pairs]
        else:
            raise ScenarioError(f"tariff: expected a price, 24 hourly prices or {{'HH:MM': price}}, got {spec!r}")
        if any(not (p >= 0.0 and math.isfinite(p)) for p in self.prices):
            raise ScenarioError(f"tariff: prices must be >= 0, got {spec!r}")

    def price(self, t: float) -> float:
        """Price [per kWh] at time ``t`` [s] (time 0 is midnight)."""
        local = t % DAY
        k = 0
        for i, start in enumerate(self.starts):
            if local >= start:
                k = i
        return self.prices[k] if local >= self.starts[0] else self.prices[-1]

    def mean(self, t0: float, t1: float) -> float:
        """Mean price over ``[t0, t1]`` [s] (the price changes only at its clock times)."""
        if t1 <= t0:
            return self.price(t0)
        edges = [t0]
        day0 = math.floor(t0 / DAY)
        for day in range(day0, int(math.floor(t1 / DAY)) + 1):
            edges += [day * DAY + s for s in self.starts if t0 < day * DAY + s < t1]
        edges = sorted(edges) + [t1]
        total = sum((b - a) * self.price(0.5 * (a + b)) for a, b in zip(edges[:-1], edges[1:]))
        return total / (t1 - t0)

    def lowest(self, t0: float, t1: float) -> float:
        """The lowest price [per kWh] in force at any time in ``[t0, t1]`` [s]."""
        if t1 - t0 >= DAY:
            return min(self.prices)
        low = self.price(t0)
        day0 = math.floor(t0 / DAY)
        for day in (day0, day0 + 1):
            for start, price in zip(self.starts, self.prices):
                if t0 < day * DAY + start <= t1:
                    low = min(low, price)
        return low

    def describe(self) -> str:
        return f"{min(self.prices):g}-{max(self.prices):g} per kWh" if len(self.prices) > 1 else f"{self.prices[0]:g}"


def top_up_day(spec: Any) -> int:
    """Weekday (0 = Monday) whose departure a weekly top-up charges for; -1 for none."""
    if spec in (None, False, "", "none"):
        return -1
    if str(spec) not in DAYS:
        raise ScenarioError(f"top_up: expected a weekday ({', '.join(DAYS)}) or none, got {spec!r}")
    return DAYS.index(str(spec))


def need_soc(planned_energy: float, pack_energy: float, reserve_soc: float, margin: float,
             min_soc: float, cap: float) -> float:
    """SOC [1] to charge to for trips of ``planned_energy`` [J] (forecast) with ``margin`` [1] on top
    (the day's unknown variation), keeping ``reserve_soc`` at the end: within ``[min_soc, cap]``."""
    trips = planned_energy * (1.0 + margin) / pack_energy if pack_energy > 0.0 else cap
    return min(max(reserve_soc + trips, min_soc), cap)


CHARGE_FOR = ("target", "trips")


class SessionNeeds:
    """A charger's settings for what a session charges to, and the SOC it aims at.

    ``charge_for``: ``"target"`` (the fixed ``target_soc``) or ``"trips"`` (:func:`need_soc` from the
    ``E_planned`` input, capped at ``target_soc``). ``reserve``: see :class:`Reserve` (None: a
    departure counts as missed when the car leaves under its target; given: when it comes home from
    the day's trips under the reserve). ``trip_margin`` [1]: on the forecast energy. ``min_soc`` [1].
    ``top_up``: the weekday whose departure a weekly charge to ``top_up_soc`` serves (LFP balancing).
    ``tariff``: :class:`Tariff` spec (None: no price).
    """

    def __init__(self, charge_for: str = "target", reserve: Any = None, trip_margin: float = 0.4,
                 min_soc: float = 0.0, top_up: Any = None, top_up_soc: float = 1.0, tariff: Any = None):
        if charge_for not in CHARGE_FOR:
            raise ScenarioError(f"charge_for: expected one of {', '.join(CHARGE_FOR)}, got {charge_for!r}")
        for name, value in (("trip_margin", trip_margin), ("min_soc", min_soc), ("top_up_soc", top_up_soc)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 10.0:
                raise ScenarioError(f"{name}: expected a number >= 0, got {value!r}")
        if min_soc > 1.0 or top_up_soc > 1.0:
            raise ScenarioError("min_soc and top_up_soc are fractions of the pack (0 to 1)")
        self.charge_for = charge_for
        self.reserve = Reserve.parse(reserve)
        if charge_for == "trips" and self.reserve is None:
            self.reserve = Reserve("soc", 0.2)
        self.trip_margin, self.min_soc = float(trip_margin), float(min_soc)
        self.top_up, self.top_up_soc = top_up_day(top_up), float(top_up_soc)
        self.tariff = Tariff(tariff) if tariff is not None else None

    def reserve_soc(self, pack_energy: float, consumption: float) -> float:
        return self.reserve.soc(pack_energy, consumption) if self.reserve is not None else 0.0

    def goal(self, departure: float | None, target: float, planned_energy: float, pack_energy: float,
             consumption: float) -> float:
        """SOC [1] a session charging for ``departure`` [s] aims at."""
        if departure is not None and self.top_up >= 0 and int(departure // DAY) % 7 == self.top_up:
            return self.top_up_soc
        if self.charge_for == "target":
            return target
        return need_soc(planned_energy, pack_energy, self.reserve_soc(pack_energy, consumption),
                        self.trip_margin, self.min_soc, target)

    def price(self, t: float, h: float) -> float:
        """Mean price [per kWh] over the step ``[t, t + h]``; 0 without a tariff."""
        return self.tariff.mean(t, t + h) if self.tariff is not None else 0.0

    def describe(self) -> dict[str, str]:
        out = {"charge_for": self.charge_for}
        if self.reserve is not None:
            out["reserve"] = self.reserve.describe()
        if self.top_up >= 0:
            out["top_up"] = f"{DAYS[self.top_up]} to {self.top_up_soc:g}"
        if self.tariff is not None:
            out["tariff"] = self.tariff.describe()
        return out

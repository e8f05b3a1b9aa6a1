"""A charger whose on/off decision comes from a trained reinforcement-learning policy, run through onnxruntime.

Unit type ``rl_charger``. It charges for the trips ahead like ``charge_to_need`` (the session's goal is
the reserve plus the forecast trips, :mod:`control.charge_need`); *when* to charge is the policy's
choice: every ``decision_interval`` (15 min, the training environment's step) it reads the
observation (:func:`observation`) and the policy says charge at full power or wait. A shield keeps the
goal reachable whatever the policy says: when the time left to the departure is no more than the time
a full-power charge to the goal needs (with ``SHIELD_MARGIN``), it charges (:func:`shielded`).

The policy is an ONNX file (observation -> two logits, off and on), trained on the twin by
``evtwin ml train-charger`` (:mod:`ml.rl_train`, the environment :mod:`ml.rl_env`); the shipped one is
``control/data/rl_charger.onnx`` with its training metadata beside it (``rl_charger.json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from control.charge_need import Tariff
from control.charger_unit import (
    ChargerUnit,
    charger_input_ports,
    charger_output_ports,
    limit_ports,
    pack_ports,
    trip_ports,
)
from control.efficiency import DEFAULT_EFFICIENCY
from control.trip_plan import DAY
from cosim.errors import ScenarioError
from cosim.unit import INPUT, PARAMETER, Port

#: The shipped policy.
DEFAULT_MODEL = Path(__file__).resolve().parent / "data" / "rl_charger.onnx"
#: Observation length (see :func:`observation`).
OBSERVATIONS = 9
#: The shield starts the charge this long [s] before the last moment a full-power charge would make it.
SHIELD_MARGIN = 1800.0


@dataclass(frozen=True)
class PriceOutlook:
    """What the tariff says about the time left to a departure [per kWh; s]."""

    now: float = 0.0
    lowest_ahead: float = 0.0
    dearest: float = 0.0
    at_last_moment: float = 0.0
    lasts: float = 0.0

    @classmethod
    def of(cls, tariff: Tariff | None, now: float, departure: float,
           full_charge_seconds: float) -> PriceOutlook:
        """The outlook at ``now`` [s]: the price now, the lowest before ``departure``, the dearest of the day,
        the mean price the shield would pay (a full-power charge ending ``SHIELD_MARGIN`` before the
        departure) and how long the present price lasts (to its next change, at most to the departure)."""
        left = max(departure - now, 0.0)
        if tariff is None:
            return cls(lasts=left)
        end = departure - SHIELD_MARGIN
        full = min(full_charge_seconds, 2.0 * DAY)
        last = tariff.mean(end - full, end) if full > 0.0 else tariff.price(end)
        return cls(tariff.price(now), tariff.lowest(now, now + left), max(tariff.prices), last,
                   price_lasts(tariff, now, departure))


def price_lasts(tariff: Tariff, t: float, end: float) -> float:
    """Seconds from ``t`` until the tariff's price changes, at most ``end - t``."""
    price, day = tariff.price(t), math.floor(t / DAY)
    changes = sorted(d * DAY + start for d in (day, day + 1, day + 2) for start in tariff.starts)
    for change in changes:
        if change > t and change < end and abs(tariff.price(change) - price) > 1e-12:
            return change - t
    return max(end - t, 0.0)


def observation(soc: float, goal: float, seconds_left: float, prices: PriceOutlook,
                full_charge_seconds: float) -> np.ndarray:
    """The policy's input, each of order one: SOC [1]; the goal [1]; what is missing [1]; the time left to
    departure [d]; the price now relative to the dearest [1]; how much dearer now is than the cheapest time
    left [1]; the time a full-power charge to the goal takes over the time left (capped at 2); how much
    dearer now is than what the shield would pay at the last moment [1]; how long the present price
    lasts beyond a full-power charge [h] (within +-4): at 0 or less a charge started now ends within it."""
    scale = prices.dearest if prices.dearest > 0.0 else 1.0
    left = max(seconds_left, 1.0)
    slack_h = (prices.lasts - min(full_charge_seconds, 2.0 * DAY)) / 3600.0
    return np.array([
        soc,
        goal,
        goal - soc,
        min(seconds_left / DAY, 3.0),
        prices.now / scale,
        (prices.now - prices.lowest_ahead) / scale,
        min(full_charge_seconds / left, 2.0),
        (prices.now - prices.at_last_moment) / scale,
        min(max(slack_h, -4.0), 4.0),
    ], dtype=np.float32)


def shielded(action_on: bool, seconds_left: float, full_charge_seconds: float) -> bool:
    """The policy's choice, overruled to charge when waiting longer would miss the goal."""
    return action_on or seconds_left <= full_charge_seconds + SHIELD_MARGIN


class OnnxPolicy:
    """An ONNX policy (observation batch -> logits), run by onnxruntime on one thread."""

    def __init__(self, path: str | Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def on(self, obs: np.ndarray) -> bool:
        logits = self.session.run(None, {self.input: obs.reshape(1, -1)})[0][0]
        return bool(logits[1] > logits[0])


class RLCharger(ChargerUnit):
    """The RL policy as a charger unit.

    Parameters
    ----------
    model : str, optional
        The ONNX policy (default: the shipped ``control/data/rl_charger.onnx``).
    departure, efficiency, reserve, trip_margin, min_soc, top_up, top_up_soc, tariff
        As :class:`control.charger_unit.ChargerUnit`; the goal is always the trips' need.
    """

    PORTS: ClassVar[tuple[Port, ...]] = (
        *charger_input_ports(),
        *trip_ports(),
        Port("T_cell", INPUT, "K", "Battery cell temperature", 298.15),
        Port("SOH_capacity", INPUT, "1", "Battery capacity relative to new", 1.0),
        *charger_output_ports(),
        *limit_ports(),
        *pack_ports(),
        Port("decision_interval", PARAMETER, "s", "Time between the policy's decisions (its training step)",
             900.0, 1.0),
    )
    path_settings = ("model",)

    def __init__(
        self,
        model: str | None = None,
        departure: str | Mapping[str, str] | None = None,
        efficiency: float | str | Mapping[str, Any] = DEFAULT_EFFICIENCY,
        reserve: Any = "20 %",
        trip_margin: float = 0.4,
        min_soc: float = 0.0,
        top_up: Any = None,
        top_up_soc: float = 1.0,
        tariff: Any = None,
    ):
        super().__init__(departure, efficiency, "trips", reserve, trip_margin, min_soc, top_up, top_up_soc, tariff)
        self.model_path = Path(model) if model else DEFAULT_MODEL
        if not self.model_path.is_file():
            raise ScenarioError(f"rl_charger: no policy file {str(self.model_path)!r} (train one with "
                                "'evtwin ml train-charger')")
        self.policy: OnnxPolicy | None = None

    def setup(self, start_time: float) -> None:
        if self.departure_clock is None:
            raise ScenarioError(f"unit {self.name!r}: rl_charger needs a departure time (the setting departure)")
        super().setup(start_time)
        if self.policy is None:
            self.policy = OnnxPolicy(self.model_path)
        self._on, self._next_decision = False, -1.0
        self.decisions = 0

    def full_charge_seconds(self) -> float:
        """Time [s] a charge at the CC current takes from the SOC read to the goal."""
        i_full = min(self.cc_current(), self.I_charge_max)
        missing = max(self.goal_soc - self.SOC, 0.0) * self.pack_capacity() * self.SOH_capacity
        return missing / i_full if i_full > 0.0 else float("inf")

    def decide(self, now: float, h: float) -> float:
        if self.plugged < 0.5:
            self._reset_session()
            self.done, self._next_decision = 0.0, -1.0
            return 0.0
        if self.SOC >= self.goal_soc:
            return 0.0
        departure = self.next_departure(now)
        left = departure - now
        full = self.full_charge_seconds()
        if now >= self._next_decision - 1e-6:
            prices = PriceOutlook.of(self.needs.tariff, now, departure, full)
            obs = observation(self.SOC, self.goal_soc, left, prices, full)
            self._on = self.policy.on(obs)
            self._next_decision = now + self.decision_interval
            self.decisions += 1
        if not shielded(self._on, left, full):
            return 0.0
        current = min(self.cc_current(), self.I_charge_max)
        if self._coulomb_gain > 0.0 and h > 0.0:
            current = min(current, (self.goal_soc - self.SOC) / (self._coulomb_gain * h))
        return max(current, 0.0)

    def save_state(self) -> Any:
        return super().save_state(), (self._on, self._next_decision, self.decisions)

    def restore_state(self, state: Any) -> None:
        base, (self._on, self._next_decision, self.decisions) = state
        super().restore_state(base)

    def metadata(self) -> dict[str, str]:
        return {"type": "rl_charger", "model": self.model_path.name, "efficiency": self.efficiency.describe(),
                **self.needs.describe()}

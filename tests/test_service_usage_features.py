"""The service's per-period usage features, on a hand-made day whose features follow by hand."""

import numpy as np
import pytest

from fleet.daily import BIN_C
from service.usage_features import daily_table, period_features

DAY0 = 19723 * 86400.0  # a midnight [unix s]
T0 = DAY0 + 3600.0
CAPACITY_AH = 100.0
VOLT = 400.0


def _day():
    """An hour's drive at 100 A (1 C), ten minutes moving with 50 A of regen, an hour parked, half an
    hour's charge at 60 A (0.6 C) standing; a sample every second (every minute while parked), a state
    every minute."""
    samples = [{"t": T0, "current_A": 0.0, "voltage_V": VOLT, "speed_mps": 0.0}]
    # (span [s], sample every [s], current [A], speed [m/s])
    segments = [(3600, 1.0, 100.0, 10.0), (600, 1.0, -50.0, 5.0), (3600, 60.0, 0.0, 0.0),
                (1800, 1.0, -60.0, 0.0)]
    t = T0
    for span, every, current, speed in segments:
        for _ in range(int(span / every)):
            t += every
            samples.append({"t": t, "current_A": current, "voltage_V": VOLT, "speed_mps": speed})
    states = [
        {"last_sample_t": T0 + k * 60.0, "soc": 0.85 if k <= 30 else 0.5, "temperature_degC": 25.0,
         "t_boundary_degC": 12.0, "efc": 0.01 * k, "soh_capacity": 0.97, "soh_resistance": 1.05}
        for k in range(int((t - T0) / 60.0) + 1)
    ]
    return samples, states


def test_the_features_of_a_hand_made_day_follow_from_their_definitions():
    samples, states = _day()
    day = daily_table(samples, states, CAPACITY_AH)
    assert len(day["day"]) == 1
    drawn, regen = 100.0 * VOLT * 3600.0, 50.0 * VOLT * 600.0  # [J]
    assert day["distance_km"][0] == pytest.approx((10.0 * 3600 + 5.0 * 600) / 1000.0)
    assert day["avg_power_kW"][0] == pytest.approx((drawn - regen) / 4200.0 / 1000.0)
    assert day["peak_power_kW"][0] == pytest.approx(40.0)
    assert day["regen_fraction"][0] == pytest.approx(regen / drawn)
    assert day["high_soc_h"][0] == pytest.approx(0.5)
    assert day["efc"][0] == pytest.approx(0.01 * (len(states) - 1))
    assert day["fast_charge_events"][0] == 1
    assert abs(day["c_rate_p99"][0] - 1.0) <= BIN_C  # an hour at 1 C, half an hour at 0.6 C
    assert day["t_ambient_mean_degC"][0] == pytest.approx(12.0)
    assert day["t_cell_mean_degC"][0] == pytest.approx(25.0)
    assert day["soh_capacity"][0] == pytest.approx(0.97)


def test_days_without_telemetry_are_parked_days_and_periods_are_whole():
    samples, states = _day()
    later = T0 + 3 * 86400.0  # three days on: days 1 and 2 have no telemetry
    samples += [
        {"t": later + k, "current_A": 100.0, "voltage_V": VOLT, "speed_mps": 10.0} for k in range(121)
    ]
    states += [dict(states[-1], last_sample_t=later + 60.0 * k, soh_capacity=0.96) for k in (1, 2)]
    day = daily_table(samples, states, CAPACITY_AH)
    assert list(day["day"]) == [0, 1, 2, 3]
    assert list(day["distance_km"][1:3]) == [0.0, 0.0]
    assert list(day["soh_capacity"]) == pytest.approx([0.97, 0.97, 0.97, 0.96])
    weekly = period_features(samples, states, CAPACITY_AH, 2)
    assert len(weekly["efc"]) == 2
    # two minutes at 10 m/s on day 3, and the first sample's speed held for a minute before it (the twin's
    # reading of a sample after a gap)
    assert weekly["distance_km"][1] == pytest.approx(1.8)
    assert weekly["t_years"] == pytest.approx(np.array([2.0, 4.0]) / 365.0)

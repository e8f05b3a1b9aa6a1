"""The live twin against the simulator's truth: noisy telemetry of the battery twin on drive cycles, with a
current-sensor offset, 10 mV of voltage noise per cell and an initial SOC wrong by 20 points."""

from __future__ import annotations

import pytest
from twin_days import PRESET, charge_day, figures, low_day, track

from service.simulated_telemetry import SimulatedVehicle


@pytest.fixture(scope="module")
def charged():
    return track(charge_day(seed=1), soc_init=0.8)


@pytest.fixture(scope="module")
def emptied():
    return track(low_day(seed=1), soc_init=0.3)


@pytest.mark.parametrize("which", ["charged", "emptied"])
def test_soc_after_leaving_the_plateau_and_the_band_on_it(which, request):
    f = figures(request.getfixturevalue(which))
    print(f"{which}: {f}")
    assert f["rmse_after"] <= 0.02  # the literature's 1-3 %; asked: 2 %
    assert f["coverage_plateau"] >= 0.90  # the 95 % band covers the truth where the voltage says little
    # On the plateau the error is larger than after it (reported, not bounded): the voltage says little there.
    assert f["rmse_plateau"] > f["rmse_after"]


def test_the_band_widens_where_the_voltage_says_little(charged):
    import numpy as np

    soc, std = charged["true_soc"], charged["soc_std"]
    settled = np.arange(len(soc)) > 600
    plateau = settled & (soc > 0.45) & (soc < 0.65)
    slope = settled & (soc > 0.97)
    assert np.median(std[plateau]) > 2 * np.median(std[slope])


def test_resistance_within_5_percent_after_a_week_of_driving():
    """An aged pack (resistance 1.12 times new) the twin starts out believing new."""
    car = SimulatedVehicle(PRESET, soc=0.8, ambient_degC=18.0, resistance_factor=1.12, seed=11)
    for day in range(7):
        car.ambient_degC = 12.0 + 2.0 * day
        car.drive("commute", dt=4.0)
        car.park(8 * 3600, sample_every=4 * 3600)
        car.drive("commute", dt=4.0)
        if day % 2:
            car.charge(11e3, until_soc=0.9, sample_every=60.0)
        car.park(12 * 3600, sample_every=4 * 3600)
    run = track(car, soc_init=0.6)
    truth, estimate = run["true_resistance"][-1], run["resistance"][-1]
    print(f"resistance factor after a week: estimate {estimate:.4f}, truth {truth:.4f}")
    assert abs(estimate / truth - 1.0) <= 0.05

"""Charging for the trips ahead: the trip plan, the reserve and the tariff, the vehicle's forecast, the goal."""

import numpy as np
import pytest

from control.charge_need import Reserve, SessionNeeds, Tariff, need_soc
from control.trip_plan import DAY, TripPlan
from cosim.errors import ScenarioError

COMMUTE = {"weekdays": ["28.5 km", "28.5 km"], "sat": ["28.5 km"]}


def plan(**kwargs):
    unit = TripPlan(COMMUTE, long_trip={"distance": "250 km", "day": "sat"}, **kwargs)
    unit.name = "trips"
    return unit


def test_daily_factors_are_uniform_in_the_range_seeded_and_the_same_for_every_run():
    a, b, c = plan(seed=1), plan(seed=1), plan(seed=2)
    days = range(365)
    fa = np.array([a.factor(d) for d in days])
    assert fa.min() >= 0.7 and fa.max() <= 1.3
    assert np.array_equal(fa, [b.factor(d) for d in days])
    assert not np.array_equal(fa, [c.factor(d) for d in days])
    # A uniform law on [0.7, 1.3]: mean 1, standard deviation 0.6 / sqrt(12) (365 draws: 4 sigma bounds).
    assert abs(fa.mean() - 1.0) < 4 * 0.173 / np.sqrt(365)
    assert fa.std() == pytest.approx(0.6 / np.sqrt(12), rel=0.15)
    # Actual distances are the nominal ones times the day's factor; the plan shows the nominal ones.
    assert a.actual(0) == pytest.approx((28.5e3 * fa[0], 28.5e3 * fa[0]))
    assert a.planned(0) == (28.5e3, 28.5e3) and a.planned(6) == ()


def test_one_long_trip_on_the_first_saturday_of_each_month():
    p = plan()
    long_days = [d for d in range(365) if p.is_long_trip_day(d)]
    assert len(long_days) == 12
    assert all(d % 7 == 5 for d in long_days)
    assert all(b - a in (28, 35) for a, b in zip(long_days, long_days[1:]))
    assert p.planned(long_days[1]) == p.actual(long_days[1]) == (250e3,)


def test_the_plan_shows_the_next_departure_days_trips():
    p = plan()
    p.setup(0.0)
    assert p.planned_distance == 57e3  # Monday, before its trips
    p.drive = 1.0
    p.do_step(7.5 * 3600.0, 10.0)  # Monday's first trip begins: the plan moves on to Tuesday
    assert p.trip_distance == pytest.approx(28.5e3 * p.factor(0))
    assert p.planned_distance == 57e3
    p.drive = 0.0
    p.do_step(3 * DAY + 19 * 3600.0, 60.0)  # Thursday evening
    p.drive = 1.0
    p.do_step(4 * DAY + 7.5 * 3600.0, 10.0)  # Friday's first trip
    p.drive = 0.0
    p.do_step(4 * DAY + 19 * 3600.0, 60.0)  # Friday evening, after its trips: Saturday's long trip
    assert p.planned_distance == 250e3
    p.drive = 1.0
    p.do_step(5 * DAY + 10 * 3600.0, 10.0)  # Saturday's long trip begins
    assert p.trip_distance == 250e3 and p.long_trips == 1.0
    p.drive = 0.0
    p.do_step(5 * DAY + 16 * 3600.0, 60.0)  # Saturday afternoon: nothing on Sunday, Monday's commute
    assert p.planned_distance == 57e3


def test_with_a_departure_per_drive_the_plan_shows_the_next_shift():
    p = TripPlan({"weekdays": ["100 km", "80 km", "60 km"]}, plan_for="drive")
    p.name = "trips"
    p.setup(0.0)
    h = 3600.0
    seen = [p.planned_distance]
    for start, end in ((6 * h, 10.5 * h), (11.25 * h, 15.75 * h), (16.5 * h, 21 * h)):
        p.drive = 1.0
        p.do_step(start, 10.0)
        p.drive = 0.0
        p.do_step(end, 60.0)
        seen.append(p.planned_distance)
    # Before each shift its own distance; after the last one, Tuesday's first.
    assert seen == [100e3, 80e3, 60e3, 100e3]
    assert p.trip_distance == 0.0  # no fourth shift today
    p.do_step(4 * DAY + 22 * h, 3600.0)  # Friday night: nothing on the weekend, Monday's first shift
    assert p.planned_distance == 100e3
    with pytest.raises(ScenarioError, match="trip_plan: plan_for: expected one of day, drive, got 'shift'"):
        TripPlan(COMMUTE, plan_for="shift")


def test_reserve_tariff_and_need():
    assert Reserve.parse("20 %").soc(60e3 * 3600, 500.0) == pytest.approx(0.2)
    # 50 km at 0.1 kWh/km of a 60 kWh pack.
    assert Reserve.parse("50 km").soc(60 * 3.6e6, 360.0) == pytest.approx(5.0 / 60.0)
    assert Reserve.parse("6 kWh").soc(60 * 3.6e6, 0.0) == pytest.approx(0.1)
    with pytest.raises(ScenarioError, match="reserve"):
        Reserve.parse("lots")
    tariff = Tariff({"00:00": 0.08, "06:00": 0.15, "16:00": 0.35, "21:00": 0.15})
    assert tariff.price(DAY + 3 * 3600.0) == 0.08 and tariff.price(17 * 3600.0) == 0.35
    assert tariff.mean(5 * 3600.0, 7 * 3600.0) == pytest.approx((0.08 + 0.15) / 2)
    assert tariff.mean(20 * 3600.0, 22 * 3600.0) == pytest.approx((0.35 + 0.15) / 2)
    assert tariff.lowest(18 * 3600.0, DAY + 7.5 * 3600.0) == 0.08
    assert tariff.lowest(6.5 * 3600.0, 7.5 * 3600.0) == 0.15
    with pytest.raises(ScenarioError, match="24 hourly"):
        Tariff([0.1, 0.2])
    # 10 kWh of trips, 30 % margin, on a 60 kWh pack with a 20 % reserve: 0.2 + 13/60.
    assert need_soc(10 * 3.6e6, 60 * 3.6e6, 0.2, 0.3, 0.0, 0.9) == pytest.approx(0.2 + 13 / 60)
    assert need_soc(100 * 3.6e6, 60 * 3.6e6, 0.2, 0.3, 0.0, 0.9) == 0.9  # capped
    assert need_soc(0.0, 60 * 3.6e6, 0.2, 0.3, 0.5, 0.9) == 0.5  # the minimum SOC
    needs = SessionNeeds("trips", top_up="mon")
    assert needs.goal(7 * DAY + 7.5 * 3600.0, 0.9, 0.0, 60 * 3.6e6, 0.0) == 1.0  # Monday: the top-up
    assert needs.goal(8 * DAY + 7.5 * 3600.0, 0.9, 0.0, 60 * 3.6e6, 0.0) == pytest.approx(0.2)


def test_the_vehicle_parks_after_the_trip_distance_and_forecasts_its_energy():
    from bridges.vehicle_unit import EVUnit

    ev = EVUnit("model3_rwd_lfp", cycle="commute")
    ev.name = "vehicle"
    ev.setup(0.0)
    ev.T_ambient = 300.0
    ev.drive, ev.trip_distance, ev.planned_distance = 1.0, 0.0, 57e3
    energy = 0.0
    for k in range(2134):  # one pass through the mix (UDDS + HWFET)
        ev.do_step(float(k), 1.0)
        energy += ev.P_battery
    # The forecast is the energy of the mix driven at that temperature, per metre driven.
    assert ev.consumption == pytest.approx(energy / ev.distance, rel=1e-9)
    assert ev.E_planned == pytest.approx(57e3 * ev.consumption, rel=1e-12)
    ev.drive = 0.0
    ev.do_step(2134.0, 60.0)
    ev.drive, ev.trip_distance = 1.0, 5e3
    start = ev.distance
    for k in range(1000):
        ev.do_step(3000.0 + k, 1.0)
    driven = ev.distance - start
    assert 5e3 <= driven < 5e3 + 35.0  # parked within the second that covered it (< 35 m/s)
    assert ev.speed == 0.0 and ev.P_battery == pytest.approx(ev.P_aux)

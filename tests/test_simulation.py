"""The interactive Simulation: pausing changes nothing, values set between steps act, save/restore/reset."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cosim_units import Integrator

from cosim import Connection, Event, Master, Segment
from cosim.errors import EvtwinError
from cosim.simulation import Simulation
from cosim.sources import Constant, TableSource

pytest_plugins = ["fmu_fixtures"]

LITRE_PER_MIN = 1e-3 / 60.0  # m3/s


def ramp_master(tmp_path: Path, events=()):
    """A ramp (1 s table) into an integrator stepped every 7 macro steps with the mean transfer."""
    table = tmp_path / "ramp.csv"
    if not table.exists():
        table.write_text("t,P\n0,0\n1000,1000\n", encoding="utf-8")

    def make():
        units = {
            "ramp": TableSource(outputs={"P": {"column": "P", "unit": "W"}}, file=str(table)),
            "x": Integrator(),
        }
        return Master(
            units,
            [Connection("ramp.P", "x.u", transfer="mean")],
            every={"x": 7},
            events=events,
            observe=["x.x"],
        )

    return make


TIMELINE = [Segment(0.0, 60.0, 1.0, "a"), Segment(60.0, 100.0, 2.0, "b")]


def batch(make, timeline):
    sim = Simulation.from_master(make, timeline)
    sim.run()
    return sim.results


@pytest.mark.parametrize("with_event", [False, True])
def test_stepping_in_pieces_gives_the_uninterrupted_run_bit_for_bit(tmp_path, with_event):
    events = [Event("x_above_1000", "x.x", above=1000.0)] if with_event else []
    make = ramp_master(tmp_path, events)
    master = make()
    whole = master.run(TIMELINE, observers=[rec := _Rows()])
    sim = Simulation.from_master(make, TIMELINE)
    sim.step()
    sim.step(4)
    sim.step_until(33.0)
    assert sim.time == 33.0
    sim.step_until(70.0)
    sim.run()
    assert sim.done
    got = sim.results
    assert list(got["time"]) == [r[0] for r in rec.rows]
    assert list(got["x.x"]) == [r[1] for r in rec.rows]
    assert sim.stats.steps == whole.steps and sim.stats.events == whole.events
    # The ramp's integral, handed over as exact means: x(t) = t^2 / 2 at the integrator's own steps.
    assert got["x.x"][-1] == pytest.approx(100.0**2 / 2, rel=1e-12)
    if with_event:
        # x = t^2 / 2 passes 1000 at 44.7 s, but x is stepped every 7 s and holds 42^2 / 2 until its
        # step to 49 s: the crossing is seen in the macro step [48, 49] and located at its start (the
        # shortened step still reaches x = 48^2 / 2 > 1000), within the tolerance.
        assert sim.stats.events[0][1] == "x_above_1000"
        assert 48.0 < sim.stats.events[0][0] <= 48.0 + 1e-3


@pytest.mark.parametrize("with_event", [False, True])
def test_step_until_between_two_points_lands_on_it_and_the_grid_goes_on(tmp_path, with_event):
    events = [Event("x_above_1e6", "x.x", above=1e6)] if with_event else []
    sim = Simulation.from_master(ramp_master(tmp_path, events), TIMELINE)
    assert sim.step_until(33.5) == 33.5
    # Every unit steps to the cut, the one stepped every 7 s too: the ramp's exact integral t^2 / 2.
    assert sim.get("x.x") == pytest.approx(33.5**2 / 2, rel=1e-12)
    assert sim.step() == 34.0  # the rest of the step that was cut; the grid is the one it was
    sim.step_until(64.25)  # into the second segment (2 s steps): cut at 64.25, then on to 66
    assert sim.step(2) == 68.0
    sim.run()
    times = list(sim.results["time"])
    assert times[33:37] == [33.0, 33.5, 34.0, 35.0] and times[-3:] == [96.0, 98.0, 100.0]
    assert 64.0 in times and 64.25 in times and 65.0 not in times
    assert sim.get("x.x") == pytest.approx(100.0**2 / 2, rel=1e-12)


class _Rows:
    """The x.x of every sample of a batch run."""

    def __init__(self):
        self.rows = []

    def start(self, master, t0):
        self.at = master.locate("x.x")

    def sample(self, t, outs, ins):
        i, _, pos = self.at
        self.rows.append((t, outs[i][pos]))

    def event(self, t, name):
        pass

    def fast_sampling(self):
        return []


def test_an_input_set_between_steps_changes_the_slope_and_save_restore_goes_back(tmp_path):
    def make():
        return Master({"x": Integrator(), "c": Constant(value=1.0, unit="W")}, [], observe=["x.x"])

    sim = Simulation.from_master(make, [Segment(0.0, 100.0, 1.0)])
    sim.set("x.u", 2.0)
    sim.step_until(10.0)
    assert sim.get("x.x") == pytest.approx(20.0)
    snap = sim.save()
    sim.set("x.u", -1.0)
    sim.step_until(30.0)
    assert sim.get("x.x") == pytest.approx(20.0 - 20.0)
    assert sim.get("x.u") == -1.0
    sim.restore(snap)
    assert sim.time == 10.0 and sim.get("x.x") == pytest.approx(20.0)
    assert len(sim.results["time"]) == 11  # the start and ten steps: later rows dropped
    sim.step_until(30.0)  # x.u is still -1 (an input holds what was set last)
    assert sim.get("x.x") == pytest.approx(0.0)
    sim.reset()
    assert sim.time == 0.0 and len(sim.results["time"]) == 0
    sim.step(5)
    assert sim.get("x.x") == 10.0  # a fresh integrator; u as set before the first step, not as set later
    sim.reset(keep_settings=False)
    sim.step(5)
    assert sim.get("x.x") == 0.0  # the master as make() builds it: u at its start value
    with pytest.raises(ValueError, match="is an output"):
        sim.set("x.x", 1.0)
    sim.run()
    with pytest.raises(EvtwinError, match="has ended at 100 s"):
        sim.step()


def test_an_input_fed_by_a_connection_cannot_be_set(tmp_path):
    sim = Simulation.from_master(ramp_master(tmp_path), TIMELINE)
    with pytest.raises(ValueError, match="x.u is fed by ramp.P"):
        sim.set("x.u", 1.0)
    with pytest.raises(KeyError, match="has no port 'uu'"):
        sim.get("x.uu")


@pytest.mark.usefixtures("engine")  # on the C core and on the Python loop
def test_a_scenario_with_fmus_stepped_from_python_reaches_each_analytic_steady_state(tmp_path, plate_fmu):
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        experiment: {{duration: 800 s}}
        units:
          heat: {{type: constant, settings: {{outputs: {{Q: {{value: 2, unit: kW}}}}}}}}
          plate: {{fmu: {plate_fmu}}}
        connections:
          - {{from: heat.Q, to: plate.thermal_port.Q_flow}}
        algorithm: {{step: 1 s}}
        outputs: {{groups: [{{name: main, signals: [plate.coolant_out.T]}}]}}
        """),
        encoding="utf-8",
    )
    with Simulation(path) as sim:
        sim.set("plate.UA_plate", 500.0)  # a fixed parameter: before the first step
        assert sim.step_until(200.5) == 200.0  # the plate has a fixed step: no cut between its points
        # Lumped coolant node at steady state: T = T_in + Q / (m_dot cp); the plate is warmer by Q / UA.
        m_dot = 1060.0 * 8.0 * LITRE_PER_MIN
        assert sim.get("plate.coolant_out.T") == pytest.approx(25.0 + 2000.0 / (m_dot * 3500.0), rel=1e-6)
        plate_above_coolant = sim.get("plate.plate.T") - sim.get("plate.coolant_out.T")
        assert plate_above_coolant == pytest.approx(2000.0 / 500.0, rel=1e-6)
        sim.set("plate.coolant_in.V_flow", 4.0)  # an unconnected input, in its unit (l/min)
        sim.run()  # 600 s: 21 time constants M / m_dot at half the flow
        assert sim.get("plate.coolant_out.T") == pytest.approx(25.0 + 2000.0 / (m_dot / 2 * 3500.0), rel=1e-6)
        with pytest.raises(ValueError, match="is fixed: it can be set before the first step only"):
            sim.set("plate.UA_plate", 100.0)
        frame = sim.dataframe()
        assert list(frame.columns) == ["plate.coolant_out.T"] and frame.index[-1] == 800.0

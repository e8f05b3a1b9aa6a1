"""The master algorithm against analytic truths: grid, order, rates, transfers, loops, events, errors."""

from __future__ import annotations

import math
import warnings

import pytest
from cosim_units import Counter, Failing, Follower, Gain, Integrator

from cosim.connection import Connection
from cosim.errors import EvtwinWarning, ScenarioError, SimulationError
from cosim.master import Event, LoopSolver, Master, MasterSettings, Observer
from cosim.sources import Constant, TableSource
from cosim.timeline import Segment, fixed


class Trace(Observer):
    """Keeps every sample of the named signals."""

    def __init__(self, *signals):
        self.signals = signals
        self.t: list[float] = []
        self.values: dict[str, list[float]] = {s: [] for s in signals}
        self.events: list[tuple[float, str]] = []

    def start(self, master, t0):
        self.at = [master.locate(s) for s in self.signals]

    def sample(self, t, outs, ins):
        self.t.append(t)
        for s, (i, causality, p) in zip(self.signals, self.at):
            self.values[s].append((outs if causality == "output" else ins)[i][p])

    def event(self, t, name):
        self.events.append((t, name))


@pytest.fixture(params=[True, False], ids=["compiled", "interpreted"])
def compiled(request):
    return request.param


def test_communication_points_are_start_plus_k_h(compiled):
    trace = Trace("c.t")
    m = Master({"c": Counter()}, observe=["c.t"], compile=compiled)
    m.run(fixed(0.0, 1.0, 0.1), observers=[trace])
    assert trace.t == [0.0] + [0.0 + k * 0.1 for k in range(1, 10)] + [1.0]
    assert trace.values["c.t"][-1] == 1.0


def test_last_step_of_a_segment_is_shortened_to_hit_its_end(compiled):
    integ = Integrator()
    m = Master(
        {"u": Constant(value=1.0, unit="W"), "i": integ}, [Connection("u.value", "i.u")], compile=compiled
    )
    m.run([Segment(0.0, 2.5, 1.0)])
    assert integ.steps == [(0.0, 1.0), (1.0, 1.0), (2.0, 0.5)]
    assert integ.x == 2.5


def test_gauss_seidel_reads_fresh_values_and_jacobi_reads_the_start_of_step(compiled):
    for method, expected in (("gauss_seidel", [1, 2, 3]), ("jacobi", [0, 1, 2])):
        follower = Follower()
        m = Master(
            {"f": follower, "c": Counter()},
            [Connection("c.n", "f.u")],
            settings=MasterSettings(method=method),
            compile=compiled,
        )
        assert m.order == ["c", "f"]  # dependency order, not declaration order
        m.run(fixed(0.0, 3.0, 1.0))
        assert [u for _, u in follower.seen] == expected, method


def test_delay_reads_the_value_from_the_start_of_the_macro_step(compiled):
    follower = Follower()
    m = Master({"c": Counter(), "f": follower}, [Connection("c.n", "f.u", delay=1)], compile=compiled)
    m.run(fixed(0.0, 3.0, 1.0))
    assert [u for _, u in follower.seen] == [0, 1, 2]


def test_unit_conversion_and_gain_offset_on_connections(compiled):
    trace = Trace("k.y", "c.y")
    units = {
        "w": Constant(value=1500.0, unit="W"),
        "k": Gain(unit="kW"),
        "t": Constant(value=300.0, unit="K"),
        "c": Gain(unit="degC"),
    }
    conns = [Connection("w.value", "k.u", gain=-2.0), Connection("t.value", "c.u", offset=1.0)]
    Master(units, conns, observe=["k.y", "c.y"], compile=compiled).run(fixed(0, 1, 1), observers=[trace])
    assert trace.values["k.y"][-1] == pytest.approx(-3.0, rel=1e-15)
    assert trace.values["c.y"][-1] == pytest.approx(300.0 - 273.15 + 1.0, rel=1e-14)


def test_non_convertible_connection_is_an_error_naming_both_ports():
    with pytest.raises(ScenarioError, match=r"'w.value' \[W\] cannot feed 'i.u' \[K\].*different quantities"):
        Master({"w": Constant(value=1.0, unit="W"), "i": Gain(unit="K")}, [Connection("w.value", "i.u")])


def test_wrong_port_names_and_causality_are_errors_with_suggestions():
    units = {"w": Constant(value=1.0, unit="W"), "i": Integrator()}
    with pytest.raises(ScenarioError, match=r"'i.uu' is not a port of unit 'i'; did you mean 'i.u'"):
        Master(units, [Connection("w.value", "i.uu")])
    with pytest.raises(
        ScenarioError, match=r"'i.x' is an output, expected an input as the connection's target"
    ):
        Master(units, [Connection("w.value", "i.x")])
    with pytest.raises(ScenarioError, match=r"no unit named 'nope'"):
        Master(units, [Connection("nope.value", "i.u")])


def test_an_input_takes_one_connection():
    units = {"a": Constant(value=1.0, unit="W"), "b": Constant(value=2.0, unit="W"), "i": Integrator()}
    with pytest.raises(ScenarioError, match=r"'i.u' is already fed by 'a.value'"):
        Master(units, [Connection("a.value", "i.u"), Connection("b.value", "i.u")])


def test_type_mismatch_is_an_error():
    from cosim.unit import OUTPUT, Port

    class Text(Constant):
        def ports(self):
            return (Port("value", OUTPUT, "1", type="String", start=""),)

    with pytest.raises(ScenarioError, match=r"is String and 'g.u' is Real: types do not match"):
        Master({"s": Text(value=0.0), "g": Gain()}, [Connection("s.value", "g.u")])


def test_algebraic_loop_is_named_in_the_error():
    units = {"battery": Gain(k=0.5), "charger": Gain(k=1.0, c=1.0)}
    conns = [Connection("battery.y", "charger.u"), Connection("charger.y", "battery.u")]
    with pytest.raises(ScenarioError, match=r"algebraic loop battery -> charger -> battery.*delay: 1"):
        Master(units, conns)


def test_delay_breaks_the_loop_and_jacobi_has_none():
    units = {"a": Gain(k=0.5), "b": Gain(c=1.0)}
    Master(units, [Connection("a.y", "b.u"), Connection("b.y", "a.u", delay=1)])
    Master(
        {"a": Gain(k=0.5), "b": Gain(c=1.0)},
        [Connection("a.y", "b.u"), Connection("b.y", "a.u")],
        settings=MasterSettings(method="jacobi"),
    )


def test_fixed_point_iteration_solves_a_linear_loop():
    # a.y = 0.5 * b.y ; b.y = a.y + 1  =>  a.y = 1, b.y = 2 exactly.
    units = {"a": Gain(k=0.5), "b": Gain(c=1.0)}
    conns = [Connection("a.y", "b.u"), Connection("b.y", "a.u")]
    trace = Trace("a.y", "b.y")
    m = Master(
        units,
        conns,
        settings=MasterSettings(loop=LoopSolver(max_iterations=100, tolerance=1e-12)),
        observe=["a.y", "b.y"],
    )
    m.run(fixed(0, 3, 1), observers=[trace])
    assert trace.values["a.y"][-1] == pytest.approx(1.0, abs=1e-11)
    assert trace.values["b.y"][-1] == pytest.approx(2.0, abs=1e-11)


def test_fixed_point_that_does_not_converge_fails_naming_the_loop():
    units = {"a": Gain(k=2.0), "b": Gain(c=1.0)}  # a = 2 b, b = a + 1: the iteration diverges
    conns = [Connection("a.y", "b.u"), Connection("b.y", "a.u")]
    m = Master(units, conns, settings=MasterSettings(loop=LoopSolver(max_iterations=5)))
    with pytest.raises(
        SimulationError, match=r"algebraic loop a -> b -> a: fixed-point iteration did not converge in 5"
    ):
        m.run(fixed(0, 1, 1))


def test_loop_without_state_saving_warns_naming_the_units():
    class Plain(Gain):
        can_save_state = False

    conns = [Connection("a.y", "b.u"), Connection("b.y", "a.u")]
    with pytest.warns(EvtwinWarning, match=r"a -> b -> a: b cannot save and restore state"):
        Master({"a": Gain(k=0.5), "b": Plain(c=1.0)}, conns, settings=MasterSettings(loop=LoopSolver()))


def test_multi_rate_slow_unit_steps_over_its_window_and_syncs_at_segment_ends(compiled):
    integ = Integrator()
    m = Master(
        {"u": Constant(value=1.0, unit="W"), "i": integ},
        [Connection("u.value", "i.u")],
        every={"i": {"drive": 4}},
        compile=compiled,
    )
    m.run([Segment(0.0, 10.0, 1.0, "drive"), Segment(10.0, 13.0, 1.5, "park")])
    assert integ.steps == [(0.0, 4.0), (4.0, 4.0), (8.0, 2.0), (10.0, 1.5), (11.5, 1.5)]
    assert integ.x == 13.0


def test_mean_transfer_conserves_the_integral_and_last_sample_does_not(compiled):
    # A ramp played at 1 s into an integrator stepped every 10 s: the mean transfer hands over the
    # exact average, so the integral equals the ramp's area (50 * 100 / 2); the last sample overshoots.
    table = {"t": [0.0, 100.0], "P": [0.0, 100.0]}
    results = {}
    for transfer in ("mean", "last"):
        integ = Integrator()
        m = Master(
            {"s": TableSource(outputs={"P": {"unit": "W"}}, data=table), "i": integ},
            [Connection("s.P", "i.u", transfer=transfer)],
            every={"i": 10},
            compile=compiled,
        )
        m.run(fixed(0.0, 100.0, 1.0))
        results[transfer] = integ.x
    assert results["mean"] == pytest.approx(5000.0, rel=1e-12)
    assert results["last"] == pytest.approx(5450.0, rel=1e-12)  # sum over windows of P(t_w + 9.5) * 10


def test_compiled_and_interpreted_runs_are_bit_identical():
    def run(compile):
        table = {"t": [0.0, 7.0, 20.0, 31.0], "P": [0.0, 3.0, -1.0, 2.5]}
        units = {
            "s": TableSource(outputs={"P": {"unit": "W"}}, data=table, interpolation="step"),
            "i": Integrator(),
            "g": Gain(k=0.3, unit="J"),
            "f": Follower("J"),
            "j": Gain(k=0.1, unit="J"),
        }
        conns = [
            Connection("s.P", "i.u", transfer="mean"),
            Connection("i.x", "g.u"),
            Connection("g.y", "f.u", gain=2.0, offset=0.25),
            Connection("f.y", "j.u", delay=1),
        ]
        trace = Trace("i.x", "g.y", "f.y", "j.y", "i.u")
        m = Master(units, conns, every={"i": {"a": 3}, "f": 2}, observe=trace.signals, compile=compile)
        m.run([Segment(0.0, 11.0, 0.7, "a"), Segment(11.0, 40.0, 2.0, "b")], observers=[trace])
        return trace

    a, b = run(True), run(False)
    assert a.t == b.t
    assert a.values == b.values


def test_jacobi_compiled_and_interpreted_are_bit_identical():
    def run(compile):
        units = {"c": Counter(), "f": Follower(), "i": Follower()}
        conns = [Connection("c.n", "f.u"), Connection("f.y", "i.u", transfer="mean")]
        trace = Trace("f.y", "i.y")
        m = Master(
            units,
            conns,
            settings=MasterSettings(method="jacobi"),
            every={"i": 3},
            observe=trace.signals,
            compile=compile,
        )
        m.run(fixed(0.0, 10.0, 1.0), observers=[trace])
        return trace

    a, b = run(True), run(False)
    assert a.values == b.values and a.t == b.t


def test_event_is_located_within_the_tolerance_by_rollback():
    # x' = 2 W from 0: crosses 7 J at exactly t = 3.5 s, inside the step [3, 4].
    trace = Trace("i.x")
    m = Master(
        {"u": Constant(value=2.0, unit="W"), "i": Integrator()},
        [Connection("u.value", "i.u")],
        events=[Event("full", "i.x", above=7.0)],
        settings=MasterSettings(event_tolerance=1e-6),
        observe=["i.x"],
    )
    stats = m.run(fixed(0.0, 6.0, 1.0), observers=[trace])
    ((t_event, name),) = stats.events
    assert name == "full"
    assert 3.5 <= t_event <= 3.5 + 1e-6
    assert trace.events == stats.events
    assert stats.rejected > 0
    # The grid restarts at the event and the segment end is still hit exactly.
    assert trace.t[-1] == 6.0
    assert trace.values["i.x"][-1] == pytest.approx(12.0, rel=1e-12)


def test_event_can_stop_the_run():
    m = Master(
        {"u": Constant(value=2.0, unit="W"), "i": Integrator()},
        [Connection("u.value", "i.u")],
        events=[Event("full", "i.x", above=7.0, stop=True)],
    )
    stats = m.run(fixed(0.0, 60.0, 1.0))
    assert stats.stopped_by == "full"
    assert stats.end == pytest.approx(3.5, abs=1e-3)


def test_event_without_rollback_warns_and_fires_at_the_next_point():
    class Plain(Integrator):
        can_save_state = False

    m = Master(
        {"u": Constant(value=2.0, unit="W"), "battery": Plain()},
        [Connection("u.value", "battery.u")],
        events=[Event("full", "battery.x", above=7.0)],
    )
    with pytest.warns(
        EvtwinWarning, match=r"events \(full\) are detected at the next communication point.*battery"
    ):
        stats = m.run(fixed(0.0, 6.0, 1.0))
    assert stats.events == [(4.0, "full")]


def test_falling_event():
    m = Master(
        {"u": Constant(value=-1.0, unit="W"), "i": Integrator(x0=10.0)},
        [Connection("u.value", "i.u")],
        events=[Event("low", "i.x", below=2.25)],
        settings=MasterSettings(event_tolerance=1e-9),
    )
    stats = m.run(fixed(0.0, 10.0, 1.0))
    assert stats.events[0][0] == pytest.approx(7.75, abs=1e-9)


@pytest.mark.parametrize(
    "how, message",
    [
        ("raise", r"unit 'bad', t = 3 s: do_step failed: RuntimeError: solver diverged"),
        ("nan", r"unit 'bad', t = 3 s: output 'y' is nan \(not finite\)"),
        (
            "bounds",
            r"unit 'bad', t = 3 s: output 'y' = 11 is outside its range \[-inf, 10\]; the unit's state",
        ),
    ],
)
def test_failures_name_unit_port_and_time_and_units_are_terminated(compiled, how, message):
    bad = Failing(fail_at=3.0, how=how)
    m = Master({"bad": bad}, observe=["bad.y"], compile=compiled)
    with pytest.raises(SimulationError, match=message):
        m.run(fixed(0.0, 10.0, 1.0))
    assert bad.terminated


def test_observed_unconnected_input_is_an_error():
    with pytest.raises(ScenarioError, match=r"'i.u' is an input without a connection"):
        Master({"i": Integrator()}, observe=["i.u"])


def test_rates_must_be_positive_integers():
    with pytest.raises(ScenarioError, match=r"every: i: step multiple must be an integer >= 1 \(got 0\)"):
        Master({"i": Integrator()}, every={"i": 0})


def test_real_time_factor_is_simulated_over_wall_time():
    stats = Master({"c": Counter()}).run(fixed(0.0, 100.0, 1.0))
    assert stats.wall_time > 0
    assert math.isclose(stats.real_time_factor, 100.0 / stats.wall_time)


def test_no_warning_when_everything_can_roll_back():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Master(
            {"u": Constant(value=2.0, unit="W"), "i": Integrator()},
            [Connection("u.value", "i.u")],
            events=[Event("full", "i.x", above=7.0)],
        ).run(fixed(0.0, 6.0, 1.0))

"""Real-time pacing: deadlines on the wall clock, overruns counted, the run catching up after them."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from cosim import Master, Segment
from cosim.cli import cli
from cosim.realtime import Pacer
from cosim.results import read_result
from cosim.unit import OUTPUT, Port, PythonUnit


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        assert dt >= 0.0
        self.now += dt


class Busy(PythonUnit):
    """Takes ``costs[k]`` seconds of the fake wall clock for its k-th step."""

    PORTS = (Port("k", OUTPUT, "1"),)

    def __init__(self, clock: FakeClock, costs: list[float]):
        super().__init__()
        self.clock, self.costs = clock, costs

    def setup(self, start_time):
        self.k = 0

    def do_step(self, t, h):
        self.clock.now += self.costs[int(self.k)]
        self.k += 1


def test_late_steps_are_counted_with_their_lateness_and_the_run_catches_up():
    clock = FakeClock()
    costs = [0.2, 0.2, 0.2, 1.0, 1.0, 0.2, 0.2, 0.2, 0.2, 0.2]
    pacer = Pacer(2.0, clock=clock, sleep=clock.sleep)  # 1 s steps at 2x: a deadline every 0.5 s
    Master({"busy": Busy(clock, costs)}).run([Segment(0.0, 10.0, 1.0)], observers=[pacer])
    # Step k is due at 0.5 k s. Steps 4 and 5 take 1 s each: step 4 ends at 2.5 s (0.5 s late), step
    # 5 at 3.5 s (1.0 late); the fast steps after them start at once and catch up by 0.3 s each:
    # 0.7, 0.4, 0.1 s late; step 9 ends at 4.3 s, early again. The last step waits for 5.0 s.
    report = pacer.report()
    assert report["points"] == 10 and report["overruns"] == 5
    assert report["max_lateness_s"] == pytest.approx(1.0)
    assert report["total_lateness_s"] == pytest.approx(0.5 + 1.0 + 0.7 + 0.4 + 0.1)
    assert clock.now == pytest.approx(5.0)


def test_a_fast_run_paced_at_real_time_takes_the_simulated_time():
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    Master({"busy": Busy(clock, [0.01] * 60)}).run([Segment(0.0, 60.0, 1.0)], observers=[pacer])
    assert pacer.overruns == 0 and clock.now == pytest.approx(60.0)


RAMP = """\
experiment: {duration: 100 s}
units:
  source:
    type: table
    settings: {data: {t: [0, 100], P: [0, 100]}, outputs: {P: {unit: W}}}
  store: {type: "cosim_units:Integrator", every: 10}
connections:
  - {from: source.P, to: store.u, transfer: mean}
"""


def test_evtwin_run_realtime_paces_and_reports_overruns_in_the_summary_and_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(RAMP), encoding="utf-8")
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(
        cli, ["run", str(path), "-o", str(out), "--realtime", "1000"], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    assert "steps late (paced at 1,000x)" in res.output and "max lateness" in res.output
    result = read_result(out)
    paced = json.loads(result.attrs["realtime"])
    assert paced["factor"] == 1000.0 and paced["points"] == 100
    assert 0 <= paced["overruns"] <= 100
    assert result.attrs["wall_time"] >= 100.0 / 1000.0  # never ahead of the clock
    assert result["store.x"].values[-1] == pytest.approx(5000.0, rel=1e-12)  # pacing changes no value


def test_a_factor_that_is_not_positive_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(RAMP), encoding="utf-8")
    res = CliRunner().invoke(cli, ["run", str(path), "--realtime", "0"])
    assert res.exit_code == 2 and "--realtime" in res.output and "must be > 0" in res.output

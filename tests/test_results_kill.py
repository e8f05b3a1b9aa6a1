"""Real `evtwin run` processes killed by real signals at random moments of a long run.

The run integrates a constant 2 kW (x = 2000 t J, exact in floating point at 1 s steps) in a
unit that also publishes how far the run got, so a killed file is checked against independent
truths: every row it holds is right, no more than one buffer of rows is missing, and the
attributes describe exactly the rows present.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from cosim_units import beacon_time

from cosim.results import read_result
from cosim.results.claim import lock_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

pytestmark = pytest.mark.slow

SCENARIO = """\
experiment: {{duration: 3650 d}}
units:
  load: {{type: constant, settings: {{outputs: {{P: {{value: 2, unit: kW}}}}}}}}
  meter: {{type: "cosim_units:Beacon", settings: {{file: "{beacon}"}}}}
connections:
  - {{from: load.P, to: meter.u}}
algorithm: {{step: 1 s}}
outputs:
  groups:
    - {{name: main, signals: ["meter.x", "load.P"]}}
    - {{name: hourly, signals: ["meter.t"], interval: 1 h}}
summary:
  - {{label: energy, signal: load.P, reduce: integral, unit: kWh}}
"""


RUNNING: list[subprocess.Popen] = []


@pytest.fixture
def tmp_path():
    """A folder of this test's own: pytest removes old ``pytest-N`` folders of the same user when
    another session starts, which must not pull the files from under a run that takes a while."""
    with tempfile.TemporaryDirectory(prefix="evtwin-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(autouse=True)
def no_run_left_behind():
    """A failing test must not leave its multi-year runs going."""
    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)


def start_run(tmp: Path, name: str) -> tuple[subprocess.Popen, Path, Path]:
    beacon = tmp / f"{name}.beacon"
    scenario = tmp / f"{name}.yaml"
    scenario.write_text(SCENARIO.format(beacon=beacon))
    out = tmp / f"{name}.h5"
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim.cli", "run", str(scenario), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp,
    )
    RUNNING.append(proc)
    return proc, out, beacon


def wait_for_rows(proc: subprocess.Popen, out: Path, seconds: float = 120.0) -> int:
    """Until a reader sees rows in the file being written (the first flush); the rows it saw."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists():
            result = read_result(out)  # while the run writes it
            if result.rows:
                assert result.status == "running" and result.being_written
                check_rows(result)
                return len(result["meter.x"].time)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=5) if proc.poll() is not None else ("", "")
    raise AssertionError(f"no rows appeared in {out}: {err}")


def check_rows(result, lost_at_most: int | None = None, reached: float | None = None) -> int:
    """The rows are right and agree with the attributes; returns their number."""
    t = result["meter.x"].time
    n = len(t)
    assert n > 0
    np.testing.assert_array_equal(t, np.arange(n, dtype=float))
    np.testing.assert_array_equal(result["meter.x"].values, 2000.0 * t)
    np.testing.assert_array_equal(result["load.P"].values, np.full(n, 2.0))  # kW, as declared
    hourly = result["meter.t"]
    assert np.all(np.diff(hourly.time) == 3600.0) and np.array_equal(hourly.values, hourly.time)
    steps, end = result.attrs["steps"], result.attrs["end_time"]
    # The attributes are written after the rows they describe: at most one block behind them.
    assert 0 <= steps <= n - 1 and end == t[steps], (steps, end, n)
    wall = result.attrs["wall_time"]
    if wall > 0:
        assert result.attrs["real_time_factor"] == pytest.approx(end / wall, rel=1e-9)
    else:  # read between the first rows and the first update of the attributes
        assert steps == 0 and result.attrs["real_time_factor"] == 0.0
    if lost_at_most is not None:
        assert n - 1 - steps <= lost_at_most
    if reached is not None:
        # The beacon's time is that of the last step done; rows flushed are behind it by one block at most.
        assert n - 1 <= reached, (reached, n, steps, result.attrs)
        assert reached - (n - 1) <= lost_at_most + 1, (reached, n)
    return n


def block_rows(path: Path) -> int:
    import h5py

    with h5py.File(path, "r", swmr=True, locking=False) as f:
        return int(f["time/main"].attrs["block_rows"])


@pytest.mark.parametrize("batch", range(5))
def test_sigkill_at_a_random_moment_leaves_every_flushed_row(tmp_path, batch):
    """Four runs at a time, killed at random once a reader saw their first rows (20 runs in all)."""
    rng = random.Random(batch)
    runs = [start_run(tmp_path, f"k{k}") for k in range(4)]
    seen = [wait_for_rows(proc, out) for proc, out, _ in runs]
    for proc, _, _ in sorted(runs, key=lambda _: rng.random()):
        time.sleep(rng.uniform(0.0, 0.7))
        proc.send_signal(signal.SIGKILL)
    for (proc, out, beacon), rows_seen in zip(runs, seen, strict=True):
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        reached = beacon_time(beacon)
        result = read_result(out)
        assert result.status == "running" and result.unfinished
        assert "ended without closing it" in result.describe()
        assert check_rows(result, lost_at_most=block_rows(out), reached=reached) >= rows_seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_sigterm_and_sighup_interrupt_like_ctrl_c(tmp_path, sig):
    proc, out, beacon = start_run(tmp_path, "t")
    wait_for_rows(proc, out)
    time.sleep(random.uniform(0.0, 1.0))
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, stderr
    assert f"interrupted: partial results (readable) in {out}" in stderr
    assert "summary of what ran" in stdout and "(interrupted)" in stdout and "energy" in stdout
    assert "Traceback" not in stderr
    result = read_result(out)
    assert result.status == "interrupted" and not result.unfinished
    n = check_rows(result, lost_at_most=0)
    assert result.attrs["steps"] == n - 1  # closed: every row written, the attributes at the last one
    assert not lock_path(out).exists()


def test_a_killed_runs_lock_does_not_block_the_next_run(tmp_path):
    proc, out, beacon = start_run(tmp_path, "s")
    wait_for_rows(proc, out)
    proc.kill()
    proc.communicate(timeout=60)
    assert lock_path(out).exists()  # left behind, but its flock died with the process
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "run", "s.yaml", "-o", str(out), "--duration", "2 h"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = read_result(out)
    assert result.status == "complete" and check_rows(result) == 7201

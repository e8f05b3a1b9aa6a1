"""What faults leave behind: a full disk, two runs on one output, outputs that are other files,
result files without rows. Real `evtwin` processes, real file systems."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_results_kill import SCENARIO, check_rows, no_run_left_behind, start_run, wait_for_rows  # noqa: F401

from cosim.results import read_result

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture
def tmp_path():
    """A folder of this test's own (see the kill tests: pytest sessions of the same user prune
    each other's folders)."""
    with tempfile.TemporaryDirectory(prefix="evtwin-test-") as tmp:
        yield Path(tmp)

def full_disk_scenario(tmp: Path) -> Path:
    """The kill tests' multi-year run, uncompressed so that it fills 16 MiB in a few blocks."""
    path = tmp / "full.yaml"
    text = SCENARIO.format(beacon=tmp / "full.beacon")
    path.write_text(text.replace("outputs:\n", "outputs:\n  compression: none\n"))
    return path


SHORT = """\
experiment: {duration: 1 h}
units:
  load: {type: constant, settings: {outputs: {P: {value: 2, unit: kW}}}}
  meter: {type: "cosim_units:Integrator"}
connections:
  - {from: load.P, to: meter.u}
algorithm: {step: 1 s}
"""


def evtwin(*args: str, cwd: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}"}

    def limit():
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "cosim.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        preexec_fn=limit,
    )


def one_line_error(stderr: str) -> str:
    # Warnings (a multi-year run's size and wall time) are not errors.
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "HDF5-DIAG" not in stderr
    return lines[0]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 16 MiB tmpfs (root only); skipped where mounting is not allowed."""
    where = tmp_path / "small"
    where.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)]
    done = subprocess.run(mount, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def check_full_disk_run(done: subprocess.CompletedProcess, out: Path, reason: str) -> None:
    assert done.returncode == 2, done.stderr
    line = one_line_error(done.stderr)
    assert line.startswith(f"error: writing {out} failed: {reason}") and "are kept" in line, line
    result = read_result(out)
    assert check_rows(result) > 0  # every row flushed before the disk filled, right and consistent


@pytest.mark.slow
def test_disk_full_mid_run_keeps_the_rows_written_before(small_tmpfs, tmp_path):
    scenario = full_disk_scenario(tmp_path)
    out = small_tmpfs / "full.h5"
    done = evtwin("run", str(scenario), "-o", str(out), cwd=tmp_path)
    check_full_disk_run(done, out, "No space left on device")


@pytest.mark.slow
def test_file_size_limit_mid_run_keeps_the_rows_written_before(tmp_path):
    scenario = full_disk_scenario(tmp_path)
    out = tmp_path / "full.h5"
    done = evtwin("run", str(scenario), "-o", str(out), cwd=tmp_path, limit_bytes=16 * 2**20)
    check_full_disk_run(done, out, "File too large")


@pytest.mark.slow
def test_a_second_run_on_the_same_output_fails_and_harms_nothing(tmp_path):
    first, out, _ = start_run(tmp_path, "one")
    seen = wait_for_rows(first, out)
    size = out.stat().st_size
    (tmp_path / "short.yaml").write_text(SHORT)
    second = evtwin("run", str(tmp_path / "short.yaml"), "-o", str(out), cwd=tmp_path)
    assert second.returncode == 2
    line = one_line_error(second.stderr)
    assert line == (
        f"error: {out} is being written by another run (lock .{out.name}.lock is held); "
        "wait for it or choose another output"
    )
    assert out.stat().st_size >= size  # not truncated: the first run still appends to it
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert first.returncode == 130
    result = read_result(out)
    assert result.status == "interrupted"
    assert check_rows(result) >= seen


def test_output_naming_another_file_is_refused_unless_forced(tmp_path):
    (tmp_path / "short.yaml").write_text(SHORT)
    csv = tmp_path / "data.csv"
    csv.write_text("t,P\n0,1\n")
    done = evtwin("run", "short.yaml", "-o", "data.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert one_line_error(done.stderr) == (
        "error: data.csv exists and is not an evtwin result (not an HDF5 file); choose another output, "
        "or pass --force to overwrite it"
    )
    assert csv.read_text() == "t,P\n0,1\n"
    done = evtwin("run", "short.yaml", "-o", "short.yaml", cwd=tmp_path)
    assert done.returncode == 2 and (tmp_path / "short.yaml").read_text() == SHORT
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = [1.0]
    done = evtwin("run", "short.yaml", "-o", "other.h5", cwd=tmp_path)
    assert done.returncode == 2 and "an HDF5 file with format None" in done.stderr
    with h5py.File(tmp_path / "other.h5") as f:
        assert f["x"][0] == 1.0
    # Forced, and over an earlier result: both fine.
    for _ in range(2):
        done = evtwin("run", "short.yaml", "-o", "data.csv", "--force", "-q", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert read_result(csv)["meter.x"].values[-1] == 2000.0 * 3600
    assert not list(tmp_path.glob(".*"))  # no lock or temporary file left behind


def test_a_run_that_fails_before_writing_does_not_point_at_an_old_file(tmp_path):
    (tmp_path / "short.yaml").write_text(SHORT)
    assert evtwin("run", "short.yaml", "-o", "r.h5", "-q", cwd=tmp_path).returncode == 0
    before = (tmp_path / "r.h5").read_bytes()
    (tmp_path / "bad.yaml").write_text(
        "experiment: {duration: 1 h}\nunits:\n"
        '  bad: {type: "cosim_units:Failing", settings: {fail_at: -1, how: setup}}\n'
        "algorithm: {step: 1 s}\n"
    )
    done = evtwin("run", "bad.yaml", "-o", "r.h5", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot open its device" in one_line_error(done.stderr)  # and no "partial results in r.h5"
    assert (tmp_path / "r.h5").read_bytes() == before


def test_export_and_plot_say_when_a_file_holds_no_rows(tmp_path):
    from cosim.results.layout import create

    path = tmp_path / "empty.h5"
    create(path, {"format": "evtwin-result 1", "start_time": 0.0}, {"status": 64}, [], None, 1).close()
    commands = (["export", str(path), "--csv", str(tmp_path / "csv")], ["plot", str(path), "-o", "p.png"])
    for args in commands:
        done = evtwin(*args, cwd=tmp_path)
        assert done.returncode == 2
        line = one_line_error(done.stderr)
        assert "holds no rows" in line and "killed or crashed (status 'running'" in line, line
    assert not (tmp_path / "csv").exists() and not (tmp_path / "p.png").exists()


@pytest.mark.slow
def test_export_plot_and_inspect_of_a_killed_run_say_how_it_ended(tmp_path):
    proc, out, _ = start_run(tmp_path, "k")
    wait_for_rows(proc, out)
    proc.kill()
    proc.communicate(timeout=60)
    n = len(read_result(out)["meter.x"].time)
    done = evtwin("export", str(out), "--csv", "csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"warning: {out} is from a run that ended without closing it" in done.stderr
    assert f"holds {n:,} rows" in done.stderr
    table = np.loadtxt(tmp_path / "csv" / "main.csv", delimiter=",", skiprows=1)
    assert table.shape[0] == n and np.array_equal(table[:, 0], np.arange(n))
    done = evtwin("plot", str(out), "-o", "k.png", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "k.png").stat().st_size > 0
    done = evtwin("inspect", str(out), cwd=tmp_path)
    assert done.returncode == 0 and "a run that ended without closing it" in done.stdout
    assert f"group main: {n:,} rows, t = 0 .. {n - 1} s; load.P, meter.x" in done.stdout



def test_an_interrupt_that_a_unit_turns_into_an_error_is_an_interruption(tmp_path):
    from cosim import scenario
    from cosim.scenario import RunInterrupted

    path = tmp_path / "s.yaml"
    path.write_text(
        "experiment: {duration: 1 d}\nunits:\n"
        '  fmu: {type: "cosim_units:InterruptedInside", settings: {at: 500}}\n'
        "algorithm: {step: 1 s}\n"
    )
    with pytest.raises(RunInterrupted) as info:
        scenario.run_plan(scenario.check(path), output=tmp_path / "r.h5")
    assert info.value.path == tmp_path / "r.h5" and info.value.signum == signal.SIGINT
    result = read_result(tmp_path / "r.h5")
    assert result.status == "interrupted"
    np.testing.assert_array_equal(result["fmu.y"].time, np.arange(500.0))  # rows up to the step cut short
    assert result.attrs["steps"] == 499 and result.attrs["end_time"] == 499.0
    assert info.value.report.stats.steps == 499


def test_a_signal_while_the_file_is_made_leaves_it_closed_as_interrupted(tmp_path, monkeypatch):
    """SIGTERM right after the result file appears on disk (as a service manager may send it, or the
    charging experiment to its workers) must not leave a file whose status says it is still running."""
    from cosim import scenario
    from cosim.results import layout
    from cosim.scenario import RunInterrupted

    made = layout.create

    def create_then_signal(*args, **kwargs):
        f = made(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)  # the file exists; the writer does not hold it yet
        return f

    monkeypatch.setattr(layout, "create", create_then_signal)
    path = tmp_path / "s.yaml"
    path.write_text(
        "experiment: {duration: 1 h}\nunits:\n"
        "  load: {type: constant, settings: {outputs: {P: {value: 2, unit: kW}}}}\n"
        "algorithm: {step: 1 s}\n"
        "outputs: {groups: [{name: main, signals: [load.P]}]}\n"
    )
    with pytest.raises(RunInterrupted) as info:
        scenario.run_plan(scenario.check(path), output=tmp_path / "r.h5")
    assert info.value.signum == signal.SIGTERM and info.value.path == tmp_path / "r.h5"
    assert read_result(tmp_path / "r.h5").status == "interrupted"

"""The engine's commands end to end: exit codes, messages, partial files, export, plot."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosim.cli import cli
from cosim.results import read_result

HERE = Path(__file__).parent

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


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_prints_a_summary_and_writes_the_result(tmp_path):
    out = tmp_path / "r.h5"
    res = invoke("run", str(write(tmp_path, RAMP)), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "real-time factor" in res.output and "wall time" in res.output
    assert f"results: {out}" in res.output
    result = read_result(out)
    assert result.status == "complete"
    assert result["store.x"].values[-1] == pytest.approx(5000.0, rel=1e-12)
    for key in (
        "scenario",
        "scenario_sha256",
        "versions",
        "wall_time",
        "real_time_factor",
        "started_at",
        "finished_at",
        "units",
    ):
        assert key in result.attrs, key
    assert json.loads(result.attrs["versions"])["h5py"]


def test_duration_override_cuts_the_run_short(tmp_path):
    out = tmp_path / "r.h5"
    res = invoke("run", str(write(tmp_path, RAMP)), "-o", str(out), "--duration", "0.5 min")
    assert res.exit_code == 0, res.output
    assert read_result(out)["store.x"].time[-1] == 30.0


def test_invalid_file_exits_2_without_traceback_and_without_running(tmp_path):
    out = tmp_path / "r.h5"
    res = invoke("run", str(write(tmp_path, RAMP.replace("every: 10", "evry: 10"))), "-o", str(out))
    assert res.exit_code == 2
    assert "error: s.yaml:6 units.store.evry: unknown key 'evry'; did you mean 'every'?" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_unit_failing_mid_run_exits_2_and_leaves_a_readable_partial_file(tmp_path):
    text = """\
    experiment: {duration: 10000 s}
    units:
      bad: {type: "cosim_units:Failing", settings: {fail_at: 4000.0}}
    """
    out = tmp_path / "r.h5"
    res = invoke("run", str(write(tmp_path, text)), "-o", str(out))
    assert res.exit_code == 2
    assert "error: unit 'bad', t = 4000 s: do_step failed: RuntimeError: solver diverged" in res.output
    assert f"partial results (readable) in {out}" in res.output
    result = read_result(out)
    assert result.status.startswith("failed: unit 'bad', t = 4000 s")
    assert result["bad.y"].time[-1] == 3999.0


def test_validate_ok_and_problems(tmp_path):
    good = write(tmp_path, RAMP)
    res = invoke("validate", str(good))
    assert res.exit_code == 0
    assert res.output.startswith(
        f"ok: {good} (2 units, 1 connections, 1.667 min, 3 recorded signals; writes results/{good.stem}.h5)"
    )
    bad = write(tmp_path, RAMP.replace("to: store.u", "to: store.v"), "bad.yaml")
    res = invoke("validate", str(good), str(bad))
    assert res.exit_code == 2
    assert (
        f"{bad}: 1 problem\n  - bad.yaml:8 connections[0].to: 'store.v' is not a port of unit 'store'"
        in res.output
    )


def test_schema_is_json():
    res = invoke("schema")
    assert res.exit_code == 0
    assert json.loads(res.output)["title"] == "evtwin scenario"


def test_export_csv_and_plot(tmp_path):
    out = tmp_path / "r.h5"
    assert invoke("run", str(write(tmp_path, RAMP)), "-o", str(out), "-q").exit_code == 0
    res = invoke("export", str(out), "--csv", str(tmp_path / "csv"))
    assert res.exit_code == 0
    with open(tmp_path / "csv" / "main.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time [s]", "source.P [W]", "store.u [W]", "store.x [J]"]
    assert float(rows[-1][0]) == 100.0 and float(rows[-1][3]) == pytest.approx(5000.0)
    res = invoke("plot", str(out), "-o", str(tmp_path / "r.png"))
    assert res.exit_code == 0
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_of_a_missing_file_is_a_clear_error(tmp_path):
    res = invoke("export", str(tmp_path / "none.h5"), "--csv", str(tmp_path))
    assert res.exit_code == 2
    assert "error: result file" in res.output and "does not exist" in res.output


def test_ctrl_c_leaves_a_readable_file_and_exits_130(tmp_path):
    text = """\
    experiment: {duration: 3650 d}
    units:
      load: {type: constant, settings: {outputs: {P: {value: 2, unit: kW}}}}
      meter: {type: "cosim_units:Integrator"}
    connections:
      - {from: load.P, to: meter.u}
    algorithm: {step: 1 s}
    """
    out = tmp_path / "r.h5"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim.cli", "run", str(write(tmp_path, text)), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"interrupted: partial results (readable) in {out}" in err
    result = read_result(out)
    assert result.status == "interrupted"
    assert len(result["meter.x"].values) > 0

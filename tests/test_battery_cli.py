"""The battery commands as a user runs them: `evtwin life` and `evtwin fmu build|demo`."""

import json
import subprocess
import sys

import pytest


def evtwin(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cosim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_life_json_matches_blast_lite_after_one_year():
    done = evtwin("life", "personal_ev_smallbatt_week", "--years", "1", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["q_final"] == pytest.approx(0.981, abs=0.003)
    assert 1.0 < out["r_final"] < 1.1
    assert out["years"] == [0.0, 1.0]
    assert "depth of discharge" in done.stderr  # the range warning, once, on stderr


def test_life_table_prints_each_year(tmp_path):
    profile = tmp_path / "storage.csv"
    profile.write_text("time_s,soc,temperature_degC\n" + "".join(f"{h * 3600},1.0,25\n" for h in range(24)))
    done = evtwin("life", str(profile), "--years", "2")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("│")]
    assert [line.split("│")[1].strip() for line in lines] == ["0", "1", "2"]
    assert "98.28" in done.stdout  # BLAST-Lite: storage at SOC 1.0, 25 degC -> 0.9828 after a year


def test_life_bad_profile_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,soc,temperature_degC\n0,0.5,25\n300,x,25\n")
    done = evtwin("life", str(bad), "--years", "1")
    assert done.returncode == 2
    assert "bad.csv:3: column soc: expected a number, found 'x'" in done.stderr
    assert "Traceback" not in done.stderr
    done = evtwin("life", "no_such_profile", "--years", "1")
    assert done.returncode == 2 and "profile not found (shipped profiles:" in done.stderr


def test_fmu_build_and_demo(tmp_path):
    done = evtwin("fmu", "build", "--out", str(tmp_path / "fmus"))
    assert done.returncode == 0, done.stderr
    assert "fmpy validate: no problems" in done.stdout
    done = evtwin("fmu", "demo", "--fmu", str(tmp_path / "fmus" / "BatteryTwin.fmu"))
    assert done.returncode == 0, done.stderr
    assert "energy delivered" in done.stdout and "real-time factor" in done.stdout
    assert "Warning" not in done.stderr

"""`evtwin scenarios`: the shipped scenario files are listed and copied into a user's folder, where they run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def evtwin(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cosim.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_the_list_names_every_shipped_file_with_its_kind(tmp_path):
    done = evtwin("scenarios", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line.split("│")[1:3] for line in done.stdout.splitlines() if line.startswith("│")]
    listed = {name.strip(): kind.strip() for name, kind in rows if name.strip()}
    assert sorted(listed) == SHIPPED
    assert listed["charging_experiment"] == "experiment" and listed["quickstart"] == "scenario"


def test_a_copied_quickstart_runs_and_builds_its_fmu_inside_the_folder(tmp_path):
    work = tmp_path / "mine"
    done = evtwin("scenarios", "copy", "quickstart", work, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in work.iterdir()) == ["quickstart.yaml"]
    done = evtwin("run", "quickstart.yaml", "--duration", "8 h", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "fmus" / "BatteryTwin.fmu").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"], "nothing is written outside the folder"
    with h5py.File(work / "results" / "quickstart.h5", "r") as f:
        assert f.attrs["status"] == b"complete"  # a fixed-size string (SWMR files gain no attributes later)
        assert f.attrs["end_time"] == 8 * 3600.0


def test_copying_an_experiment_brings_the_scenario_it_runs(tmp_path):
    done = evtwin("scenarios", "copy", "charging_experiment", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charging_commute.yaml", "charging_experiment.yaml"]
    assert (tmp_path / "charging_commute.yaml").read_text().count("fmu: fmus/BatteryTwin.fmu") == 1
    assert "evtwin experiment charging" in done.stdout


def test_copy_never_overwrites_without_force(tmp_path):
    mine = tmp_path / "quickstart.yaml"
    mine.write_text("my own edits\n")
    done = evtwin("scenarios", "copy", "quickstart", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert "quickstart.yaml exists; nothing copied" in done.stderr and "Traceback" not in done.stderr
    assert mine.read_text() == "my own edits\n"
    done = evtwin("scenarios", "copy", "quickstart", ".", "--force", cwd=tmp_path)
    assert done.returncode == 0 and mine.read_text().startswith("# One day of an EV's life")


def test_an_unknown_name_suggests_the_close_one(tmp_path):
    done = evtwin("scenarios", "copy", "quickstrat", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: no shipped scenario 'quickstrat'; did you mean quickstart or quickstart_table? `evtwin scenarios` lists them"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_complete_example_of_the_docs_is_shipped_and_its_event_fires(tmp_path):
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    start = docs.index("```yaml", docs.index("## A complete example")) + len("```yaml\n")
    shipped = (ROOT / "scenarios" / "quickstart_table.yaml").read_text(encoding="utf-8")
    assert shipped[shipped.index("version: 1"):] == docs[start:docs.index("```", start)]

    assert evtwin("scenarios", "copy", "quickstart_table", ".", cwd=tmp_path).returncode == 0
    done = evtwin("run", "quickstart_table.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "results" / "quickstart_table.h5", "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["events/name"][:]]
        assert names == ["soc_85"]
        index = int((f["time/main"][:] <= f["events/time"][0]).sum()) - 1
        soc = f["signals/battery/SOC"][:]
        # Landed on the crossing: the recorded SOC there is the threshold, within what 1 ms of charging moves.
        assert soc[index] == pytest.approx(0.85, abs=1e-5)
        assert soc[:index].max() < 0.85

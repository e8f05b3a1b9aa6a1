"""The ML dataset: features aggregated from the fleet's daily tables, reported SOH, splits by vehicle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ml_fleet import write_fleet

from cosim.errors import EvtwinError
from fleet.store import read_fleet_table
from ml import dataset
from ml.bms import BmsModel


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    write_fleet(root)
    return root


def test_weekly_features_add_up_the_days(fleet_dir):
    ds = dataset.build(fleet_dir, period_days=7)
    days, _ = read_fleet_table(fleet_dir)
    v = 3
    sel = days["vehicle"] == v
    rows = ds.series(v)
    assert len(rows["t_years"]) == 730 // 7
    week = slice(7 * 10, 7 * 11)  # the eleventh week
    assert rows["distance_km"][10] == pytest.approx(days["distance_km"][sel][week].sum())
    assert rows["peak_power_kW"][10] == pytest.approx(days["peak_power_kW"][sel][week].max())
    assert rows["t_ambient_min_degC"][10] == pytest.approx(days["t_ambient_mean_degC"][sel][week].min())
    assert rows["soh_true"][10] == days["soh_capacity"][sel][7 * 11 - 1]
    assert rows["t_years"][10] == pytest.approx(77 / 365)
    assert "truth_capacity" not in ds.vehicles


def test_reported_soh_has_the_stated_noise_and_bias():
    bms = BmsModel(noise=0.01, bias0=0.005, drift_per_sqrt_year=0.005, seed=3)
    t = np.arange(1, 521) / 52.0  # ten years of weekly reports
    errors = np.array([bms.report(v, t, np.ones_like(t)) - 1.0 for v in range(300)])
    # week-to-week differences: 2 noise^2 + drift^2 dt (independent noise, random-walk bias)
    var_diff = np.diff(errors, axis=1).var()
    assert var_diff == pytest.approx(2 * 0.01**2 + 0.005**2 / 52.0, rel=0.05)
    # across vehicles at year 10: bias0^2 + drift^2 10 + noise^2
    assert errors[:, -1].var() == pytest.approx(0.005**2 + 0.005**2 * 10 + 0.01**2, rel=0.2)
    assert np.array_equal(bms.report(7, t, np.ones_like(t)), bms.report(7, t, np.ones_like(t)))


def test_splits_are_by_vehicle_with_a_climate_held_out(fleet_dir):
    ds = dataset.build(fleet_dir)
    split, climate = ds.vehicles["split"], ds.vehicles["climate"]
    assert set(climate[split == "climate_test"]) == {"phoenix"}  # the rarest climate
    assert "phoenix" not in set(climate[split != "climate_test"])
    assert {"train", "calibration", "test"} <= set(split)
    ds2 = dataset.build(fleet_dir, held_out=["oslo", "phoenix"])
    assert set(ds2.vehicles["climate"][ds2.vehicles["split"] == "climate_test"]) == {"oslo", "phoenix"}
    with pytest.raises(EvtwinError, match="'sahara' is not in the fleet"):
        dataset.build(fleet_dir, held_out=["sahara"])


def test_default_held_out_climates_hold_a_sixth_of_the_fleet():
    # the training fleet's climates: the rarest (one car) is not enough on its own
    fleet = ["miami"] * 6 + ["greensboro"] * 5 + ["houston", "phoenix", "sand_point"] * 4 + ["minneapolis"]
    assert dataset.default_held_out(np.array(fleet)) == ["minneapolis", "sand_point"]
    assert dataset.default_held_out(np.array(["a", "b", "b", "c", "c", "c"])) == ["a"]


def test_the_default_training_fleet_holds_out_its_cold_climates_and_twenty_test_vehicles():
    # drawn, not run: the split the default dataset will have, from the fleet file's seed
    from fleet.spec import load
    from ml.defaults import FLEET_FILE

    fleet = load(FLEET_FILE)
    climates = np.array([v.climate for v in fleet.vehicles])
    held = dataset.default_held_out(climates)
    assert held == ["minneapolis", "sand_point"]  # the two cold climates, a sixth of the fleet or more
    split = dataset.assign_splits(climates, held, fleet.model.seed)
    # enough test vehicles that the coverage figure's interval is not half of [0, 1]
    assert (split == "test").sum() >= 20 and (split == "climate_test").sum() >= 20
    assert dataset.default_held_out(np.array(["a", "a", "a"])) == []  # one climate: all of it trains
    assert dataset.default_held_out(np.array(["a", "b"] * 10)) == ["b"]  # one is always left to train on


def test_dataset_command_writes_a_file_with_its_provenance(fleet_dir, tmp_path):
    out = tmp_path / "data.h5"
    result = _evtwin("ml", "dataset", str(fleet_dir), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "climate_test 2" in result.stdout
    ds = dataset.load(out)
    assert ds.features == list(dataset.FEATURES) and ds.units["distance_km"] == "km"
    assert len(ds.sha256) == 64
    bad = _evtwin("ml", "dataset", str(tmp_path), "-o", str(out))
    assert bad.returncode != 0 and "evtwin fleet run" in bad.stderr and "Traceback" not in bad.stderr


def _evtwin(*args, cwd=None):
    """The CLI as a user runs it (from outside the source tree, so only the installed package counts)."""
    return subprocess.run(
        [sys.executable, "-m", "cosim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or Path(__file__).parent,
    )


def test_the_default_dataset_is_built_once_and_again_when_the_fleet_table_changes(
    fleet_dir, tmp_path, monkeypatch
):
    import shutil

    import h5py

    from ml import defaults

    run = tmp_path / "run"
    shutil.copytree(fleet_dir, run)
    fleet_file = tmp_path / "training_fleet.yaml"  # as many vehicles as the run holds: nothing to run
    fleet_file.write_text("version: 1\nvehicles: 9\nyears: 2\nseed: 1\nbattery: in_process\n")
    monkeypatch.setattr(defaults, "FLEET_FILE", fleet_file)
    monkeypatch.setattr(defaults, "FLEET_RUN", run)
    monkeypatch.setattr(defaults, "DATASET", tmp_path / "ml.h5")
    said: list[str] = []
    path = defaults.default_dataset(said.append)
    assert said[-1].startswith("building") and dataset.load(path).vehicles["vehicle_id"].size == 9
    built = path.stat().st_mtime_ns
    assert defaults.default_dataset(said.append) == path and path.stat().st_mtime_ns == built
    assert said[-1] == f"dataset {path} is up to date with {run / 'fleet.h5'}"
    with h5py.File(run / "fleet.h5", "a") as f:  # the fleet table changes
        f.attrs["touched"] = 1
    defaults.default_dataset(said.append)
    assert said[-1].startswith("building")

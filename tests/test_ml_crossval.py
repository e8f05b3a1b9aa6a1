"""Cross-validated scores: each vehicle outside the held-out climates is tested exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.errors import EvtwinError
from ml.crossval import fold_splits


def test_every_vehicle_is_tested_once_and_never_trains_on_itself():
    splits = np.array(["train"] * 11 + ["calibration"] * 4 + ["test"] * 4 + ["climate_test"] * 5)
    folds = fold_splits(splits, 5)
    tested = np.array([f == "test" for f in folds])
    assert np.array_equal(tested.sum(axis=0), [1] * 19 + [0] * 5)
    for f in folds:
        assert list(f[19:]) == ["climate_test"] * 5
        assert 3 <= (f == "test").sum() <= 4 and 3 <= (f == "calibration").sum() <= 4
        assert (f == "train").sum() == 19 - (f == "test").sum() - (f == "calibration").sum()
    # each vehicle calibrates once too, in another fold than it is tested in
    assert np.array_equal(np.array([f == "calibration" for f in folds]).sum(axis=0), [1] * 19 + [0] * 5)
    with pytest.raises(EvtwinError, match="give 3 to 19 folds"):
        fold_splits(splits, 20)

"""Leave one climate out among the training climates: how a forecaster's configuration carries into a
climate it never saw, judged without the held-out climates (their vehicles are never read).

For each climate of the vehicles outside ``climate_test``, a model trains on the others' windows and
forecasts that climate's (the default task); printed: each configuration's RMSE (%-points, one / five
years ahead) per climate and their mean over the climates, and the anchored law's.

    python scripts/ml_leave_one_climate_out.py pinn '[{"physics_weight": 1}, {"physics_weight": 64}]'
    python scripts/ml_leave_one_climate_out.py transformer '[{"bound": null}, {"bound": 0.0025}]'

(DATA: results/ml.h5, from `evtwin ml train`; each fit takes a few CPU seconds.)
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np


def main(name: str, configs: list[dict], data: Path = Path("results/ml.h5")) -> None:
    from ml.baselines import AnchoredPhysics
    from ml.dataset import load
    from ml.defaults import TASK
    from ml.task import samples
    from ml.training import CLASSES

    module, cls = CLASSES[name]
    model_class = getattr(importlib.import_module(module), cls)
    ds = load(data)
    split, climate = np.asarray(ds.vehicles["split"]), np.asarray(ds.vehicles["climate"])
    pool = np.flatnonzero(split != "climate_test")
    folds = [
        (c, samples(ds, pool[climate[pool] != c], TASK), samples(ds, pool[climate[pool] == c], TASK))
        for c in np.unique(climate[pool])
    ]
    rows = [("physics_anchored", lambda tr, te: AnchoredPhysics().predict(te))]
    rows += [(json.dumps(kw), lambda tr, te, kw=kw: model_class(**kw).fit(tr).predict(te)) for kw in configs]
    for label, forecast in rows:
        errors = [forecast(tr, te) - te.y for _, tr, te in folds]
        rmse = np.array([100 * np.sqrt(np.mean(e**2, axis=0)) for e in errors])
        each = "  ".join(f"{c} {r[0]:.3f}/{r[1]:.3f}" for (c, _, _), r in zip(folds, rmse, strict=True))
        print(f"{name} {label}: mean {rmse[:, 0].mean():.3f}/{rmse[:, 1].mean():.3f} | {each}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else [{}])

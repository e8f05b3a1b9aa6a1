"""SOH forecasters per call: onnxruntime (one thread) against torch / scikit-learn, side by side.

A co-simulation unit or a service asks for one forecast at a time: the time of one call with a batch
of one window, for every exported model, through onnxruntime with one intra-op thread (the goal:
<= 50 us a call, judged on CPU time) and through the framework it was trained in (torch with one
thread, scikit-learn with one job), with the ratio; and the largest difference of their outputs
(<= 1e-5). Then the ensemble of them as one file (``evtwin ml export --ensemble``) against the mean
of their Python forecasts, and the file the in-loop scenario ships
(``scenarios/data/soh_forecaster.onnx``; its difference is to the model of its kind among these:
zero where it was made from them). Wall and CPU time side by side: on a machine others load too, the wall time
waits for them and the CPU time (this process's) is what a call costs; the load average is printed
with them.

The models: those of ``--models`` (a folder from ``evtwin ml train`` + ``evtwin ml export``); without
it, the default architectures (104 weeks of history, 200 trees) trained for one epoch on a synthetic
fleet: the weights do not change the time of a call, the architecture does.

    python benchmarks/bench_onnx.py [--models results/models] [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOAL_US = 50.0  # onnxruntime, one thread, CPU time of one forecast
SHIPPED = ROOT / "scenarios" / "data" / "soh_forecaster.onnx"  # the in-loop scenario's forecaster


def _per_call_us(fn, calls: int, repeats: int = 5) -> tuple[float, float]:
    """(wall, CPU) time of one call [us]: medians over ``repeats`` of the mean over ``calls`` calls.

    The CPU time (this process's) is what a call costs on a machine that others load too."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        wall.append((time.perf_counter() - t0) / calls * 1e6)
        cpu.append((time.process_time() - c0) / calls * 1e6)
    return float(np.median(wall)), float(np.median(cpu))


def _synthetic_models(tmp: Path) -> tuple[Path, Path]:
    """A synthetic eight-year fleet's dataset and the default architectures trained on it briefly."""
    sys.path.insert(0, str(ROOT / "tests"))
    from ml_fleet import write_fleet

    from ml import dataset
    from ml.export import export
    from ml.task import Task
    from ml.training import load_models, train

    write_fleet(tmp / "fleet", vehicles=12, days=8 * 365, climates=("miami", "phoenix", "oslo"))
    ds = dataset.build(tmp / "fleet", 7)
    dataset.save(ds, tmp / "data.h5", tmp / "fleet")
    ds = dataset.load(tmp / "data.h5")
    one_epoch = {"epochs": 1}
    config = {"lstm": one_epoch, "transformer": one_epoch, "pinn": one_epoch}
    train(ds, tmp / "models", Task(104, (52, 260), 26), config=config, say=lambda _: None)
    export(*load_models(tmp / "models", ds), tmp / "models")
    return tmp / "data.h5", tmp / "models"


def bench(data: Path, models: Path, calls: int) -> None:
    import torch

    from ml import dataset
    from ml.export import onnx_input
    from ml.onnx_model import OnnxModel
    from ml.task import Task, samples
    from ml.training import load_models

    torch.set_num_threads(1)
    ds = dataset.load(data)
    meta, trained = load_models(models, ds)
    task = Task(**{k: tuple(v) if k == "horizons" else v for k, v in meta["task"].items()})
    s = samples(ds, ds.vehicle_indices("test"), task)
    one = samples(ds, ds.vehicle_indices("test")[:1], task)
    one = type(one)(*(getattr(one, f)[:1] for f in ("x", "t", "y", "t_target", "vehicle")), one.columns)
    print(
        f"one forecast per call ({task.history} periods of history, {len(task.horizons)} horizons), "
        f"{calls} calls; us per call, wall / CPU; load average {_load()} at the start"
    )
    head = f"{'model':13}{'onnxruntime':>16}{'trained in':>12}{'its time':>17}"
    print(f"{head}{'ratio CPU':>11}{'max |diff|':>12}   <= {GOAL_US:g} us CPU")
    for name, model in trained.items():
        onnx = OnnxModel(models / f"{name}.onnx", threads=1)
        x_one = onnx_input(name, model, one)
        ort = _per_call_us(lambda x=x_one, m=onnx: m.run(x), calls)
        if hasattr(model, "net"):
            framework, xt = "torch", torch.tensor(x_one)

            def native(net=model.net, xt=xt):
                with torch.no_grad():
                    return net(xt)
        else:
            framework = "sklearn"
            native = lambda m=model, o=one: m.predict(o)  # noqa: E731
        own = _per_call_us(native, max(calls // 10, 20))
        diff = np.abs(onnx.run(onnx_input(name, model, s)) - model.predict(s)).max()
        times = f"{ort[0]:>8.1f} /{ort[1]:>6.1f}{framework:>12}{own[0]:>9.1f} /{own[1]:>7.1f}"
        verdict = "pass" if ort[1] <= GOAL_US else "FAIL"
        print(f"{name:13}{times}{own[1] / ort[1]:>10.1f}x{diff:>12.1e}   {verdict}")
    _bench_ensemble(meta, trained, s, one, calls)
    print(f"load average {_load()} at the end")


def _bench_ensemble(meta: dict, trained: dict, s, one, calls: int) -> None:
    """The ensemble's one file (``evtwin ml export --ensemble``) of these models against the mean of their
    Python forecasts; and the file the in-loop scenario ships, on the same window, when it reads these
    columns."""
    from ml.export import export_ensemble, input_for
    from ml.onnx_model import OnnxModel
    from ml.training import ensemble

    def python(w):
        return ensemble({n: m.predict(w) for n, m in trained.items()}, meta)[0]

    with tempfile.TemporaryDirectory() as tmp:
        onnx = OnnxModel(export_ensemble(meta, trained, Path(tmp) / "ensemble.onnx"), threads=1)
    files = {"ensemble": (onnx, python, "all four")}
    shipped = OnnxModel(SHIPPED, threads=1) if SHIPPED.exists() else None
    kind = shipped.info.kind if shipped is not None else None
    if kind == "ensemble" and shipped.info.features == onnx.info.features:
        files["shipped file"] = (shipped, python, "all four")
    elif kind in trained:
        files["shipped file"] = (shipped, trained[kind].predict, kind)
    for label, (model, own_fn, framework) in files.items():
        own = _per_call_us(lambda f=own_fn: f(one), max(calls // 10, 20))
        x_one = input_for(model.info.features, one)
        ort = _per_call_us(lambda x=x_one, m=model: m.run(x), calls)
        diff = np.abs(model.run(input_for(model.info.features, s)) - own_fn(s)).max()
        times = f"{ort[0]:>8.1f} /{ort[1]:>6.1f}{framework:>12}{own[0]:>9.1f} /{own[1]:>7.1f}"
        verdict = "pass" if ort[1] <= GOAL_US else "FAIL"
        print(f"{label:13}{times}{own[1] / ort[1]:>10.1f}x{diff:>12.1e}   {verdict}")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=None, help="Trained and exported models (folder).")
    ap.add_argument("--data", type=Path, default=Path("results/ml.h5"), help="Their dataset (with --models).")
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, models = (args.data, args.models) if args.models else _synthetic_models(Path(tmp))
        bench(data, models, args.calls)


if __name__ == "__main__":
    main()

"""``evtwin ml export``: the trained models of a folder as ONNX files that carry their metadata.

- ``lstm.onnx``: input the raw window ``[n, history, features + 1]`` (the dataset's features, then
  ``soh_reported``), output SOH ``[n, horizons]``; ``history`` in its metadata.
- ``transformer.onnx``: as the LSTM's.
- ``pinn.onnx``: input the window summary of :func:`ml.forest.summarise` ``[n, features + 3]``, output
  SOH ``[n, horizons]``.
- ``forest.onnx``: input the window summary of :func:`ml.forest.summarise` ``[n, features + 3]``, output
  SOH ``[n, horizons]`` (the forest's change plus the recent reported SOH, added inside the graph).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.forest import summary_names
from ml.onnx_model import ModelInfo, save_model

WINDOW_MODELS = ("lstm", "transformer")  # input the raw window; the others read its summary


def _forest_graph(forest, n_inputs: int):
    """The skl2onnx graph of the forest with ``+ x[:, soh_recent]`` appended, so it outputs SOH."""
    from onnx import helper, numpy_helper

    model = forest.to_onnx(n_inputs)
    graph = model.graph
    x_name, delta = graph.input[0].name, graph.output[0].name
    graph.initializer.append(
        numpy_helper.from_array(np.array([n_inputs - 3], dtype=np.int64), "recent_index")
    )
    graph.node.extend(
        [
            helper.make_node("Gather", [x_name, "recent_index"], ["soh_recent"], axis=1),
            helper.make_node("Cast", [delta], ["delta_f"], to=1),
            helper.make_node("Add", ["delta_f", "soh_recent"], ["soh"]),
        ]
    )
    out = helper.make_tensor_value_info("soh", 1, ["n", "horizons"])
    del graph.output[:]
    graph.output.append(out)
    return model


def export(meta: dict, models: dict, out: Path) -> list[Path]:
    """Write each trained model of ``models`` as ``out/<name>.onnx`` with its metadata; the written paths."""
    out = Path(out)
    history = int(meta["task"]["history"])
    horizons = [f"soh_{h}" for h in meta["task"]["horizons"]]
    units = dict(meta["units"], soh_reported="1")
    columns = [*meta["features"], "soh_reported"]
    summary = summary_names(columns)
    summary_units = {n: units.get(n.removeprefix("mean_"), "1") for n in summary} | {
        "t_origin_years": "yr",
        "soh_sqrt_slope": "1/yr^0.5",
    }
    written = []
    for name, model in models.items():
        if name in WINDOW_MODELS:
            features, feature_units, window = columns, {c: units[c] for c in columns}, history
            graph = model.to_onnx(np.zeros((1, history, len(columns)), dtype=np.float32))
        elif name == "forest":
            features, feature_units, window = summary, summary_units, 1
            graph = _forest_graph(model, len(summary))
        else:  # the physics-informed network reads the summary too
            features, feature_units, window = summary, summary_units, 1
            graph = model.to_onnx(np.zeros((1, len(summary)), dtype=np.float32))
        info = ModelInfo(
            features=features,
            units=feature_units,
            history=window,
            period_days=int(meta.get("period_days", 7)),
            window_periods=history,
            kind=name,
            metrics={"conformal_90": meta["conformal"][name]},
            outputs=horizons,
            output_units={h: "1" for h in horizons},
            training_data_sha256=meta["dataset_sha256"],
        )
        written.append(save_model(graph, info, out / f"{name}.onnx"))
    return written

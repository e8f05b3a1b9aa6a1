"""``evtwin ml export``: the trained models of a folder as ONNX files that carry their metadata.

- ``lstm.onnx``: input the raw window ``[n, history, features + 1 + 3 + horizons]`` (the dataset's
  features, ``soh_reported``, then the window's anchored law on every period:
  :func:`ml.torch_fit.window_with_law`, named by :func:`ml.torch_fit.law_names`), output SOH
  ``[n, horizons]`` (the law's forecast plus the network's correction, inside the graph); ``history``
  in its metadata. A network of the window-only layout reads ``[n, history, features + 1]``.
- ``transformer.onnx``: as the LSTM's.
- ``pinn.onnx``: input the window summary of :func:`ml.forest.summarise` and the window's law
  (:func:`ml.pinn.pinn_inputs`, ``[n, features + 6]``), output SOH ``[n, horizons]``.
- ``forest.onnx``: input the window summary and the law's fade ahead to each horizon
  (:func:`ml.forest.forest_inputs`, ``[n, features + 3 + horizons]``), output SOH ``[n, horizons]``
  (the level less the law's fade ahead plus the forest's correction, added inside the graph).
- with ``--ensemble FILE``: the mean of them all as one file (:func:`export_ensemble`,
  :mod:`ml.ensemble_onnx`), with the ensemble's calibrated 90 % half-widths.

:func:`onnx_input` gives what each file reads, from the windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.ensemble_onnx import compose, ensemble_input, ensemble_names
from ml.forest import forest_inputs, summary_names
from ml.onnx_model import ModelInfo, save_model
from ml.pinn import LAW_UNITS, input_names, pinn_inputs
from ml.task import Samples
from ml.torch_fit import LAW_TERMS, law_names, window_with_law

WINDOW_MODELS = ("lstm", "transformer")  # input the raw window; the others read its summary


def forest_names(columns: list[str], outputs: list[str]) -> list[str]:
    """The forest file's inputs: the window summary, then the law's fade ahead to each output."""
    return [*summary_names(columns), *(f"law_fade_to_{h}" for h in outputs)]


def input_for(features: list[str], s: Samples) -> np.ndarray | None:
    """What an exported file that reads ``features`` takes for the windows ``s`` (``s.t_target`` at its
    horizons), by the names of its inputs; None when they are none of this module's layouts."""
    outputs = [f"soh_{k}" for k in range(s.t_target.shape[1])]
    if features == list(s.columns):
        return s.x.astype(np.float32)
    if _is_window_with_law(features, list(s.columns), len(outputs)):
        return window_with_law(s)
    if features == input_names(s.columns):
        return pinn_inputs(s)
    fades = [f.removeprefix("law_fade_to_") for f in features if f.startswith("law_fade_to_")]
    if len(fades) == len(outputs) and features == ensemble_names(list(s.columns), fades):
        return ensemble_input(s)
    if features[: -len(outputs) or None] == summary_names(s.columns) and all(
        f.startswith("law_fade_to_") for f in features[len(features) - len(outputs) :]
    ):
        return forest_inputs(s)[0]
    return None


def window_columns(features: list[str], outputs: list[str]) -> list[str] | None:
    """The window's columns (the usage features, then ``soh_reported``) from which :func:`input_for`
    makes the input of a file that reads ``features`` and forecasts ``outputs`` (``soh_<periods>``):
    the law's columns or the window's summary are made from them. None for a file that reads its
    window as it is, or one of no layout of this module."""
    n_law = len(LAW_TERMS) + len(outputs)
    means = [f.removeprefix("mean_") for f in features if f.startswith("mean_")]
    candidates = ([features[:-n_law]] if len(features) > n_law else []) + [[*means, "soh_reported"]]
    for cols in candidates:
        layouts = ([*cols, *law_names(outputs)], forest_names(cols, outputs), input_names(cols),
                   ensemble_names(cols, outputs))
        if cols[-1:] == ["soh_reported"] and features in layouts:
            return cols
    return None


def _is_window_with_law(features: list[str], columns: list[str], outputs: int) -> bool:
    """Whether ``features`` are a window network's that reads the law: the window's columns, the law's
    terms, then the law's fade ahead to each of the ``outputs``."""
    n, terms = len(columns), list(LAW_TERMS)
    tail = features[n + len(terms):]
    return (features[:n] == columns and features[n:n + len(terms)] == terms and len(tail) == outputs
            and all(f.startswith("law_fade_to_") for f in tail))


def onnx_input(name: str, model, s: Samples) -> np.ndarray:
    """What ``name``'s ONNX file reads for the windows ``s`` (float32)."""
    if name in WINDOW_MODELS:
        return np.asarray(model._inputs(s), dtype=np.float32)
    if name == "forest":
        return forest_inputs(s)[0]
    return pinn_inputs(s)


def _forest_graph(forest, n_inputs: int, horizons: int):
    """The skl2onnx graph of the forest with ``+ level - fade ahead`` appended, so it outputs SOH."""
    from onnx import helper, numpy_helper

    model = forest.to_onnx(n_inputs)
    graph = model.graph
    x_name, delta = graph.input[0].name, graph.output[0].name
    level = n_inputs - horizons - 3
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([level], dtype=np.int64), "level_index"),
            numpy_helper.from_array(np.arange(n_inputs - horizons, n_inputs, dtype=np.int64), "fade_index"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Gather", [x_name, "level_index"], ["soh_level"], axis=1),
            helper.make_node("Gather", [x_name, "fade_index"], ["fade_ahead"], axis=1),
            helper.make_node("Cast", [delta], ["delta_f"], to=1),
            helper.make_node("Sub", ["soh_level", "fade_ahead"], ["soh_law"]),
            helper.make_node("Add", ["delta_f", "soh_law"], ["soh"]),
        ]
    )
    out = helper.make_tensor_value_info("soh", 1, ["n", "horizons"])
    del graph.output[:]
    graph.output.append(out)
    return model


def model_graph(name: str, model, meta: dict):
    """(the ONNX graph of the trained model ``name``, its :class:`ModelInfo`)."""
    history = int(meta["task"]["history"])
    horizons = [f"soh_{h}" for h in meta["task"]["horizons"]]
    units = dict(meta["units"], soh_reported="1")
    columns = [*meta["features"], "soh_reported"]
    summary = summary_names(columns)
    summary_units = {n: units.get(n.removeprefix("mean_"), "1") for n in summary} | {
        "t_origin_years": "yr",
        "soh_sqrt_slope": "1/yr^0.5",
    }
    if name in WINDOW_MODELS:
        law = law_names(horizons) if getattr(model, "law", False) else []
        features, window = [*columns, *law], history
        feature_units = {c: units[c] for c in columns} | {n: summary_units.get(n, "1") for n in law}
        graph = model.to_onnx(np.zeros((1, history, len(features)), dtype=np.float32))
    elif name == "forest":
        features, window = forest_names(columns, horizons), 1
        feature_units = summary_units | dict.fromkeys(features[len(summary) :], "1")
        graph = _forest_graph(model, len(features), len(horizons))
    else:  # the physics-informed network reads the summary and the window's law
        features, window = input_names(columns), 1
        feature_units = summary_units | LAW_UNITS
        graph = model.to_onnx(np.zeros((1, len(features)), dtype=np.float32))
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
    return graph, info


def export(meta: dict, models: dict, out: Path) -> list[Path]:
    """Write each trained model of ``models`` as ``out/<name>.onnx`` with its metadata; the written paths."""
    return [save_model(*model_graph(name, m, meta), Path(out) / f"{name}.onnx") for name, m in models.items()]


def export_ensemble(meta: dict, models: dict, path: Path) -> Path:
    """Write the ensemble of ``models`` (the mean of their forecasts, :mod:`ml.ensemble_onnx`) as one file
    at ``path``, with the ensemble's calibrated 90 % half-widths; the path."""
    members = {name: model_graph(name, model, meta) for name, model in models.items()}
    first = next(iter(members.values()))[1]
    columns = [*meta["features"], "soh_reported"]
    names = ensemble_names(columns, first.outputs)
    units = {}
    for _, info in members.values():
        units |= info.units
    graph = compose({n: (g, info.features) for n, (g, info) in members.items()}, names, first.window_periods)
    info = ModelInfo(
        features=names,
        units={n: units.get(n, "1") for n in names},
        history=first.window_periods,
        period_days=first.period_days,
        window_periods=first.window_periods,
        kind="ensemble",
        metrics={"conformal_90": meta["conformal_ensemble"], "members": list(members)},
        outputs=first.outputs,
        output_units=first.output_units,
        training_data_sha256=meta["dataset_sha256"],
    )
    return save_model(graph, info, path)

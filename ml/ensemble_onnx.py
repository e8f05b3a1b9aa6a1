"""The ensemble of a trained set as one ONNX file: its members' graphs side by side, averaged.

The file reads one tensor ``[n, history, F]`` (:func:`ensemble_names`): the window's columns (the
dataset's features, ``soh_reported``), then the window's anchored law (``soh_level``,
``soh_sqrt_slope``, ``t_origin_years``, ``law_fade_to_<h>``), the means of the features over the
window (``mean_<feature>``) and the law's constants (``k_cal``, ``k_cyc``, ``efc_per_year``); the
window's values are the same on every period, as the law's are in the window networks' input.
Inside, each member reads its own input cut from it (the window networks the first columns; the
forest and the physics-informed network their columns of the last period, by name), and the output
``soh`` ``[n, horizons]`` is the mean of the members' outputs, the ensemble that
:func:`ml.training.ensemble` scores; each member's own forecast is an output too (``<member>_soh``).
:func:`ensemble_input` makes the tensor from the windows.
"""

from __future__ import annotations

import numpy as np

from cosim.errors import EvtwinError
from ml.pinn import LAW_INPUTS, pinn_inputs
from ml.task import Samples
from ml.torch_fit import law_names, window_with_law


def ensemble_names(columns: list[str], outputs: list[str]) -> list[str]:
    """The ensemble file's input columns for the window's ``columns`` and the horizons ``outputs``."""
    return [*columns, *law_names(outputs), *(f"mean_{c}" for c in columns[:-1]), *LAW_INPUTS]


def ensemble_input(s: Samples) -> np.ndarray:
    """float32 [n, history, F]: the windows ``s`` as the ensemble file reads them (:func:`ensemble_names`)."""
    summary = pinn_inputs(s)  # the feature means, the law's level, slope and age, then its constants
    n_features = s.x.shape[2] - 1
    extra = np.column_stack([summary[:, :n_features], summary[:, -len(LAW_INPUTS) :]])
    extra = np.repeat(extra[:, None, :], s.x.shape[1], axis=1)
    return np.concatenate([window_with_law(s), extra], axis=2).astype(np.float32)


def compose(members: dict, names: list[str], history: int):
    """One ``onnx.ModelProto`` that averages ``members`` ({name: (its graph, the input columns it reads,
    by name, out of ``names``; a window's when its graph reads ``[n, history, ...]``)})."""
    from onnx import TensorProto, compose, helper, numpy_helper

    nodes, inits, outputs, opsets, irs = [], [], [], {}, []
    inits.append(numpy_helper.from_array(np.array(history - 1, dtype=np.int64), "ensemble/last_period"))
    nodes.append(helper.make_node("Gather", ["x", "ensemble/last_period"], ["ensemble/x_last"], axis=1))
    for name, (graph, features) in members.items():
        model = compose.add_prefix(graph, prefix=f"{name}_")
        g = model.graph
        x_in, soh = g.input[0].name, g.output[0].name
        window = len(g.input[0].type.tensor_type.shape.dim) == 3
        if window and features != names[: len(features)]:
            raise EvtwinError(f"{name}: a window network reads the ensemble's first columns, not {features}")
        cut = f"ensemble/{name}/"  # the names of what cuts its input (no member's name starts so)
        if window:  # the first columns: a slice (a gather along the last axis costs ~15 us a call)
            for part, value in (("start", 0), ("end", len(features)), ("axis", 2)):
                inits.append(numpy_helper.from_array(np.array([value], dtype=np.int64), cut + part))
            nodes.append(helper.make_node("Slice", ["x", cut + "start", cut + "end", cut + "axis"], [x_in]))
        else:
            index = np.array([names.index(f) for f in features], dtype=np.int64)
            inits.append(numpy_helper.from_array(index, cut + "columns"))
            nodes.append(helper.make_node("Gather", ["ensemble/x_last", cut + "columns"], [x_in], axis=1))
        nodes.extend(g.node)
        inits.extend(g.initializer)
        outputs.append(soh)
        for op in model.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
        irs.append(model.ir_version)
    nodes.append(helper.make_node("Mean", outputs, ["soh"]))
    horizons = ["n", "horizons"]
    graph = helper.make_graph(
        nodes, "ensemble",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", history, len(names)])],
        [helper.make_tensor_value_info("soh", TensorProto.FLOAT, horizons)],
        inits,
    )
    for out in outputs:  # each member's forecast too, by the name its graph gave it (``lstm_soh``)
        graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, horizons))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = max(irs)
    return model

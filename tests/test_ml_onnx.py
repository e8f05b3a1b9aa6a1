"""The ONNX model wrapper and the ``type: onnx`` unit, with real ONNX files run through onnxruntime."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from cosim import scenario
from cosim.errors import EvtwinError
from cosim.results import read_result
from ml.onnx_model import ModelInfo, OnnxModel, save_model

W = np.array([[2.0], [-1.0]], dtype=np.float32)
B = np.array([1.0], dtype=np.float32)


def window_model(history: int = 3):
    """y = mean over the window of x, times W, plus B: an ONNX graph built by hand."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=0),
         helper.make_node("MatMul", ["m", "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], ["y"])],
        "window_mean", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", history, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 1])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


INFO = ModelInfo(features=["temp", "efc"], units={"temp": "degC", "efc": "1"}, outputs=["soh"],
                 output_units={"soh": "1"}, history=3, kind="test", training_data_sha256="ab" * 32)


@pytest.fixture
def model_file(tmp_path):
    return save_model(window_model(), INFO, tmp_path / "m.onnx")


def test_a_model_carries_its_metadata_and_refuses_other_features(model_file, tmp_path):
    m = OnnxModel(model_file, features=["temp", "efc"])
    assert m.info == INFO
    x = np.array([[[1, 2], [3, 4], [5, 6]]], dtype=np.float32)
    assert m.run(x) == pytest.approx(x.mean(axis=1) @ W + B)
    with pytest.raises(EvtwinError, match=r"trained on features \['temp', 'efc'\], not \['efc', 'temp'\]"):
        OnnxModel(model_file, features=["efc", "temp"])
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(window_model().SerializeToString())
    with pytest.raises(EvtwinError, match="no evtwin metadata"):
        OnnxModel(bare)
    (tmp_path / "junk.onnx").write_text("not a model")
    with pytest.raises(EvtwinError, match="not an ONNX model"):
        OnnxModel(tmp_path / "junk.onnx")


def _scenario(tmp_path, model_file, extra: str = "") -> object:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        experiment: {{duration: 10 s}}
        units:
          source:
            type: table
            settings:
              data: {{t: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], T: [300, 301, 305, 302, 310, 296, 299, 300, 308, 311, 290],
                      n: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
              outputs: {{T: {{unit: K}}, n: {{unit: "1"}}}}
              interpolation: step
          model:
            type: onnx
            settings:
              model: {model_file.name}
              inputs: {{T_cell: {{feature: temp, unit: K}}, cycles: {{feature: efc}}}}
              outputs: {{soh: {{index: 0, unit: "1"}}}}
              {extra}
        connections:
          - {{from: source.T, to: model.T_cell}}
          - {{from: source.n, to: model.cycles}}
        algorithm: {{step: 1 s}}
        """))
    return path


def test_the_onnx_unit_runs_the_model_on_its_window_in_a_scenario(tmp_path, model_file):
    scenario.run(_scenario(tmp_path, model_file), output=tmp_path / "r.h5")
    soh = read_result(tmp_path / "r.h5")["model.soh"].values
    temp_c = np.array([300, 301, 305, 302, 310, 296, 299, 300, 308, 311]) - 273.15
    efc = np.arange(10.0)
    expected = []
    for k in range(10):  # the window after step k: samples k-2..k, padded with the first
        idx = [max(j, 0) for j in range(k - 2, k + 1)]
        expected.append(2.0 * temp_c[idx].mean() - efc[idx].mean() + 1.0)
    assert soh[1:] == pytest.approx(expected, abs=1e-4)


def test_the_onnx_unit_samples_once_per_period(tmp_path, model_file):
    scenario.run(_scenario(tmp_path, model_file, "sample_period: 5 s"), output=tmp_path / "r.h5")
    soh = read_result(tmp_path / "r.h5")["model.soh"].values
    # samples after the steps ending at 5 s and 10 s: the inputs of the steps from 4 s and 9 s
    first = 2.0 * (310 - 273.15) - 4.0 + 1.0
    assert soh[5:10] == pytest.approx([first] * 5, abs=1e-4)
    second = 2.0 * np.mean([310 - 273.15, 310 - 273.15, 311 - 273.15]) - np.mean([4.0, 4.0, 9.0]) + 1.0
    assert soh[10] == pytest.approx(second, abs=1e-4)


def test_the_onnx_unit_refuses_a_mapping_that_misses_a_feature(tmp_path, model_file):
    from ml.onnx_unit import OnnxUnit

    with pytest.raises(ValueError, match=r"no input feeds the model features \['efc'\]"):
        OnnxUnit(model_file, inputs={"T": {"feature": "temp", "unit": "K"}}, outputs={"soh": {}})
    with pytest.raises(ValueError, match="has no feature 'soc'"):
        OnnxUnit(model_file, inputs={"T": {"feature": "soc"}}, outputs={"soh": {}})

"""ML surrogates: features, datasets, torch models, ONNX export and ONNX units."""

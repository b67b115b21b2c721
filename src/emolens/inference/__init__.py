"""Torch-free runtime: ONNX Runtime + OpenCV + numpy."""

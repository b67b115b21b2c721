"""Defaults every front end shares, kept here so reading them loads neither OpenCV nor ONNX Runtime.

(The CLI reads the server's settings before it knows which verb runs; see tests/test_boundaries.py.)
"""

# The face detector used unless told otherwise (BENCHMARKS.md, "Detectors": CenterFace finds small
# faces LiteFace misses; LiteFace is 4x cheaper).
DEFAULT_DETECTOR = "centerface"

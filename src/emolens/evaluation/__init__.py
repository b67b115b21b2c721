"""Evaluate a model (training run or exported ONNX) on a dataset split and write reports."""
from emolens.evaluation.evaluate import evaluate_model, split_for_eval

__all__ = ["evaluate_model", "split_for_eval"]

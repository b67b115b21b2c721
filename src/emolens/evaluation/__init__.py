"""Evaluate a model on a dataset split and write reports: exported models here, training runs through the
logits function emolens.train.runs supplies (evaluation imports nothing of train)."""

from emolens.evaluation.evaluate import evaluate_model, is_run_folder, model_logits, split_for_eval

__all__ = ["evaluate_model", "is_run_folder", "model_logits", "split_for_eval"]

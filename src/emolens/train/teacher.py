"""Online distillation: teachers label every augmented view the student trains on.

Why online: soft labels cached once for the un-augmented image (row 13 of
docs/experiments.md) did not help the small net, because an augmented view (a turned,
blurred, occluded face) is not the face the teacher labelled. Asking the teacher on the very
view costs one teacher forward per step, so it pays on a GPU and is slow on a CPU.

Teachers are run folders (their best.pt, members of an ensemble averaged) or exported
models: an ONNX graph is turned into a torch module (train/onnx_torch.py), its float16 weights cast
back to float32 first, so the shipped `default` can teach without its training run.
"""

from __future__ import annotations

import logging

import torch

from emolens.train.onnx_torch import onnx_module

log = logging.getLogger(__name__)


class OnlineTeacher:
    """Mean softmax(logits / T) of the teachers on a batch, in the student's label order."""

    def __init__(
        self,
        teachers: list[str],
        labels: tuple[str, ...],
        device: torch.device,
        temperature: float = 1.0,
        channels_last: bool = False,
    ):
        self.members: list[tuple[torch.nn.Module, list[int]]] = []
        self.temperature, self.channels_last = temperature, channels_last
        for name in teachers:
            for module, their_labels in _load(name):
                missing = [lab for lab in labels if lab not in their_labels]
                if missing:
                    raise ValueError(f"teacher {name!r} has no {', '.join(missing)} output: it cannot teach this model")
                module = module.to(device).eval()
                for p in module.parameters():
                    p.requires_grad_(False)
                self.members.append((module, [their_labels.index(lab) for lab in labels]))
        log.info("online teacher: %d network(s) from %s", len(self.members), ", ".join(teachers))

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, S, S) as the student sees it -> (B, K) soft targets."""
        total = 0
        for module, cols in self.members:
            logits = module(x.contiguous(memory_format=torch.channels_last) if self.channels_last else x)
            total = total + torch.softmax(logits.float()[:, cols] / self.temperature, dim=1)
        return total / len(self.members)


def _load(name: str) -> list[tuple[torch.nn.Module, tuple[str, ...]]]:
    from emolens.core.labels import label_set
    from emolens.evaluation.evaluate import is_run_folder
    from emolens.inference.model_store import load_card, resolve_model_dir
    from emolens.train.runs import load_run, member_runs

    if is_run_folder(name):
        out = []
        for member in member_runs(name):
            model, cfg, _ = load_run(member)
            out.append((model, label_set(cfg.classes)))
        return out
    folder = resolve_model_dir(name)
    card = load_card(folder)
    return [(onnx_module(folder / card.onnx_file), tuple(card.labels))]

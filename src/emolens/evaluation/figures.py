"""matplotlib figures for evaluation reports (imported only when matplotlib exists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np


def confusion_png(report: dict[str, Any], path: Path) -> str:
    cm = np.array(report["confusion"], dtype=float)
    norm = cm / np.clip(cm.sum(1, keepdims=True), 1, None)
    labels = report["labels"]
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n({int(cm[i, j])})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{report['split']}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def reliability_png(report: dict[str, Any], path: Path) -> str:
    bins = report["reliability"]
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    if bins:
        mid = [(b["lo"] + b["hi"]) / 2 for b in bins]
        ax.bar(mid, [b["accuracy"] for b in bins], width=1 / 15, alpha=0.7, edgecolor="k", label="accuracy")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color="C3", label="per bin")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability (ECE {report['ece']:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def curves_png(history: list[dict[str, Any]], path: Path) -> str:
    ep = [h["epoch"] for h in history]
    fig, ax1 = plt.subplots(figsize=(6.4, 4.0))
    ax1.plot(ep, [h["train_loss"] for h in history], color="C0", label="train loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("train loss", color="C0")
    ax2 = ax1.twinx()
    ax2.plot(ep, [h["val_accuracy"] for h in history], color="C1", label="val accuracy")
    ax2.plot(ep, [h["val_macro_f1"] for h in history], color="C2", label="val macro-F1")
    ax2.set_ylabel("validation")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)

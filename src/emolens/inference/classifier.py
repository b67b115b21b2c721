"""Emotion classifier: ONNX Runtime session built from model.onnx + card.json.

Faces of one image/frame go through in one batched call; TTA views and the
card's temperature are applied here, so every caller gets the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emolens.core.card import CardError, ModelCard, sha256_file
from emolens.core.metrics import softmax
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta, tta_views
from emolens.inference.model_store import load_card, resolve_model_dir

log = logging.getLogger(__name__)


class Classifier:
    """Face crops -> probabilities over `card.labels`."""

    def __init__(
        self,
        model: str | Path = "default",
        *,
        threads: int = 1,
        tta: str | Sequence[str] | None = None,
        card: ModelCard | None = None,
        precision: str = "auto",
    ):
        """model: a shipped name, a folder with model.onnx + card.json, or a .onnx file beside its card; with
        `card`, a folder or .onnx file that card describes (no card.json needed: export calibrates with it).
        precision: "auto" reads with the card's int8 graph when it has one (about 4x cheaper per face on
        a CPU, within 0.3 points of float), "float" or "int8" ask for one."""
        import onnxruntime as ort  # loads with the first model, not with `import emolens`

        if card is None:
            self.model_dir = resolve_model_dir(model)
            self.card: ModelCard = load_card(self.model_dir)
        else:
            self.model_dir = Path(model).parent if Path(model).suffix == ".onnx" else Path(model)
            self.card = card
        self.tta = parse_tta(self.card.tta if tta is None else tta)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        file, sha = self.card.graph(precision)
        self.precision = "int8" if file == self.card.int8_file else "float"  # int8_file is never onnx_file
        path = self.model_dir / file
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own types; the fix is the same
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CardError(
                f"{path}: ONNX Runtime cannot load it ({reason[:200]}); re-export the model or upgrade onnxruntime"
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.sha256 = sha or sha256_file(path)  # what stored readings record as their model: the graph that ran
        log.debug(
            "loaded %s (%s, %s, tta=%s, %d threads)", self.model_dir, self.card.arch, self.precision, self.tta, threads
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    def logits(self, batch: np.ndarray, max_rows: int = 64) -> np.ndarray:
        """Preprocessed batch (N, C, S, S) -> raw logits (N, K), TTA-averaged, no temperature.

        At most `max_rows` images x views go through the graph per call: ONNX Runtime keeps its
        largest activations allocated, so one huge batch (a whole test split) would hold gigabytes.
        """
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        step = max(1, max_rows // len(tta_views(batch[:1], self.tta)))
        out = []
        for i in range(0, len(batch), step):
            part = batch[i : i + step]
            views = tta_views(part, self.tta)  # one session call for all views of this part
            res = self.session.run(None, {self.input_name: np.concatenate(views) if len(views) > 1 else views[0]})[0]
            out.append(res.reshape(len(views), len(part), -1).mean(0))
        return np.concatenate(out)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed batch -> calibrated probabilities (N, K)."""
        return softmax(self.logits(batch), self.card.temperature)

    def predict(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """uint8 face crops (gray or BGR, any size) -> calibrated probabilities (N, K)."""
        return self.predict_batch(preprocess(crops, self.card))

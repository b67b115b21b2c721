"""Test fixtures made on the fly: a tiny ONNX classifier (no torch) and face images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emolens.core.card import ModelCard, sha256_file
from emolens.core.labels import EMOTIONS

# Where the astronaut's face is in skimage.data.astronaut() (x, y, w, h), by CenterFace.
ASTRONAUT_FACE = (182, 58, 88, 120)


def save_model(folder: str | Path, nodes: list, initializers: list, k: int, **card_fields) -> Path:
    """An ONNX graph from `input` (N,1,48,48) to `logits` (N,k) saved as model.onnx + card.json in folder."""
    import onnx
    from onnx import TensorProto, helper

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        nodes,
        card_fields.get("name", "tiny"),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 48, 48])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", k])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="emolens-tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    card = ModelCard(**card_fields)
    card.with_(onnx_sha256=sha256_file(folder / "model.onnx")).save(folder / "card.json")
    return folder


def make_tiny_model(
    folder: str | Path,
    *,
    seed: int = 0,
    labels: tuple[str, ...] = EMOTIONS,
    bias: dict[str, float] | None = None,
    **card_fields,
) -> Path:
    """model.onnx + card.json: (N,1,48,48) -> 12x12 average pool -> Gemm to K logits.

    `bias` adds to some labels' logits (e.g. {"contempt": 50.0} makes a model that always reads contempt).
    """
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    k = len(labels)
    weight = numpy_helper.from_array(rng.normal(0, 2.0, (k, 16)).astype(np.float32), "W")
    b = rng.normal(0, 0.1, (k,)).astype(np.float32)
    for name, value in (bias or {}).items():
        b[labels.index(name)] += value
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[12, 12], strides=[12, 12]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"], transB=1),
    ]
    fields = {"name": "tiny", "arch": "tiny", "labels": labels, "crop_margin": 0.1, **card_fields}
    return save_model(folder, nodes, [weight, numpy_helper.from_array(b, "b")], k, **fields)


def astronaut_bgr() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def group_photo(scales=(0.25, 0.4, 0.6, 0.9), size=(900, 1400), seed: int = 0):
    """The astronaut pasted at several scales on a plain canvas -> (BGR image, true face boxes)."""
    rng = np.random.default_rng(seed)
    base = astronaut_bgr()
    img = np.empty((*size, 3), np.uint8)
    img[:] = rng.integers(60, 200, size=3, dtype=np.uint8)
    x, truth = 20, []
    for s in scales:
        p = cv2.resize(base, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        y = 40 + int(rng.integers(0, size[0] - p.shape[0] - 40))
        img[y : y + p.shape[0], x : x + p.shape[1]] = p
        fx, fy, fw, fh = ASTRONAUT_FACE
        truth.append((x + fx * s, y + fy * s, fw * s, fh * s))
        x += p.shape[1] + 20
    assert x <= size[1], "canvas too narrow for these scales"
    return img, truth


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def moving_faces_video(path: str | Path, *, frames: int = 24, fps: float = 12.0, size=(640, 360)) -> Path:
    """Two astronaut portraits gliding in opposite directions: a short mp4 with real faces."""
    base = astronaut_bgr()
    a = cv2.resize(base, (200, 200), interpolation=cv2.INTER_AREA)
    b = cv2.resize(base[:, ::-1], (150, 150), interpolation=cv2.INTER_AREA)
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for i in range(frames):
        t = i / max(1, frames - 1)
        frame = np.full((h, w, 3), 90, np.uint8)
        ax, bx = int(10 + 200 * t), int(w - 160 - 200 * t)
        frame[20:220, ax : ax + 200] = a
        frame[190:340, bx : bx + 150] = b
        writer.write(frame)
    writer.release()
    return Path(path)


def sign_up(client, username: str, password: str = "a long enough password") -> dict[str, str]:
    """Register through the API (a TestClient) and return headers carrying a fresh bearer token."""
    r = client.post("/api/v1/auth/register", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def astronaut_head(scale: float, *, mirror: bool = False) -> np.ndarray:
    """The astronaut's head and shoulders (a crop around her face), scaled: the face is about 88*scale px wide."""
    crop = astronaut_bgr()[0:260, 120:340]
    crop = crop[:, ::-1] if mirror else crop
    return cv2.resize(np.ascontiguousarray(crop), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def service_video(
    path: str | Path, *, frames: int = 60, fps: float = 10.0, passer: tuple[int, int] = (15, 45), stayer: bool = True
) -> Path:
    """A counter camera clip (640x480) made from real photos: a customer who stays at the bottom left for
    the whole clip (face ~62 px) and, during frames passer[0]..passer[1], a bigger passer-by (face ~80 px)
    crossing the top from right to left. Returns the path; boxes of the stayer's head: STAYER_AT."""
    still = astronaut_head(0.7)
    walker = astronaut_head(0.9, mirror=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    assert writer.isOpened()
    first, last = passer
    for i in range(frames):
        frame = np.full((480, 640, 3), (88, 96, 104), np.uint8)
        if stayer:
            x, y = STAYER_AT
            frame[y : y + still.shape[0], x : x + still.shape[1]] = still
        if first <= i < last:
            x = int(420 - 200 * (i - first) / max(1, last - first - 1))
            frame[10 : 10 + walker.shape[0], x : x + walker.shape[1]] = walker
        writer.write(frame)
    writer.release()
    return Path(path)


STAYER_AT = (40, 280)  # top-left corner of the staying customer's head in service_video


def crowded_group_photo(seed: int = 0):
    """Six real faces (the astronaut's face, mirrored every other time) packed in two rows, closer together
    than their labels are wide, at slightly different heights: (BGR image, true face boxes in reading order).
    A naive "label above each box" layout overlaps here."""
    rng = np.random.default_rng(seed)
    crop = astronaut_bgr()[20:240, 160:300]  # 140 x 220 around the face: (22, 38, 88, 120) inside it
    img = np.full((300, 212, 3), (96, 104, 112), np.uint8)
    truth = []
    for row, (top, scale) in enumerate(((24, 0.45), (164, 0.47))):
        for col in range(3):
            mirror = bool((row + col) % 2)
            head = cv2.resize(
                np.ascontiguousarray(crop[:, ::-1] if mirror else crop),
                None,
                fx=scale,
                fy=scale,
                interpolation=cv2.INTER_AREA,
            )
            x, y = 10 + col * 58 - row * 4, top + int(rng.integers(0, 10))
            h, w = head.shape[:2]
            img[y : y + h, x : x + w] = head
            fx = 140 - 22 - 88 if mirror else 22
            truth.append((x + fx * scale, y + 38 * scale, 88 * scale, 120 * scale))
    return img, truth

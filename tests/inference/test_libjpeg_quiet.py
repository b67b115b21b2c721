"""libjpeg's warnings about our own probe decodes stay off stderr; nothing else written there is lost."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from emolens.inference.images import load_image
from emolens.inference.libjpeg_quiet import quiet_libjpeg


def test_a_valid_jpeg_is_read_without_a_corrupt_data_warning(tmp_path, capfd):
    path = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    capfd.readouterr()
    assert load_image(path).shape == (120, 160, 3)
    assert "Corrupt JPEG" not in capfd.readouterr().err


def test_other_writes_to_stderr_inside_the_block_are_kept(capfd):
    with quiet_libjpeg():
        os.write(2, b"Corrupt JPEG data: 3 extraneous bytes before marker 0xd9\n")
        os.write(2, b"a log line from another thread\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "a log line from another thread\nafter\n"


def test_concurrent_probes_leave_stderr_working(tmp_path, capfd):
    path = tmp_path / "p.jpg"
    cv2.imwrite(str(path), np.full((64, 64, 3), 90, np.uint8))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                load_image(path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.write(2, b"still here\n")
    assert not errors and capfd.readouterr().err == "still here\n"

"""Reading order for faces: left to right, top to bottom, so "face 3" means the same face everywhere.

Detectors return faces by score, which is no order a person can follow (and two faces with
near-equal scores can swap between runs). Faces are grouped into rows: a face joins a row when
its vertical centre lies within half a face height of the row's centre; rows go top to bottom,
faces in a row left to right. The API, the CLI table, `--annotate` and the web page number
faces in this order.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = Sequence[float]  # (x, y, w, h)


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indexes of `boxes` in reading order (deterministic for the same boxes)."""
    by_centre = sorted(range(len(boxes)), key=lambda i: (boxes[i][1] + boxes[i][3] / 2, boxes[i][0], i))
    rows: list[list[int]] = []
    for i in by_centre:
        cy, h = boxes[i][1] + boxes[i][3] / 2, boxes[i][3]
        if rows:
            row = rows[-1]
            row_cy = sum(boxes[j][1] + boxes[j][3] / 2 for j in row) / len(row)
            row_h = max(max(boxes[j][3] for j in row), h)
            if abs(cy - row_cy) <= row_h / 2:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: (boxes[j][0], boxes[j][1], j))]

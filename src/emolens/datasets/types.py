"""What a reader returns: one `Split` per dataset split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from emolens.core.labels import EMOTIONS


class DataError(ValueError):
    """A dataset problem the user can fix (missing path, corrupt file, bad layout)."""


class LazyImages(Sequence):
    """Images decoded on access: used when a split would not fit in memory."""

    def __init__(self, loaders: list[Callable[[], np.ndarray]]):
        self._loaders = loaders

    def __len__(self) -> int:
        return len(self._loaders)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._loaders[j]() for j in range(*i.indices(len(self)))]
        return self._loaders[i]()


@dataclass
class Split:
    """Images of one split, labelled with indexes into `label_names` (`EMOTIONS` unless FER+ 8-class).

    `images` is a uint8 array (N, H, W) when decoded in memory, otherwise a
    `LazyImages` sequence. `digests` are sha1s of the raw bytes (exact duplicates).
    `targets` (N, K) are soft training targets when the labels come from several taggers
    (FER+), and `original_labels` then keeps the dataset's own single-tagger labels.
    """

    name: str
    images: np.ndarray | LazyImages
    labels: np.ndarray
    sources: list[str]
    digests: list[str]
    dropped: dict[str, int] = field(default_factory=dict)  # foreign class -> count
    label_names: tuple[str, ...] = EMOTIONS
    targets: np.ndarray | None = None  # (N, K) float32 distributions, rows sum to 1
    original_labels: np.ndarray | None = None  # (N,) indexes into label_names

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def in_memory(self) -> bool:
        return isinstance(self.images, np.ndarray)

    def counts(self) -> dict[str, int]:
        """Images per emotion, in label order, zeros included."""
        binc = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(binc[i]) for i, name in enumerate(self.label_names)}

    def subset(self, idx: np.ndarray, name: str | None = None) -> Split:
        idx = np.asarray(idx)
        images = self.images[idx] if self.in_memory else LazyImages([self.images._loaders[i] for i in idx])
        return Split(
            name or self.name,
            images,
            self.labels[idx],
            [self.sources[i] for i in idx],
            [self.digests[i] for i in idx],
            dict(self.dropped),
            self.label_names,
            None if self.targets is None else self.targets[idx],
            None if self.original_labels is None else self.original_labels[idx],
        )


def concat_splits(parts: list[Split], name: str) -> Split:
    """One split made of several (e.g. every split, for --split all)."""
    if all(p.in_memory for p in parts) and len({p.images.shape[1:] for p in parts}) == 1:
        images: np.ndarray | LazyImages = np.concatenate([p.images for p in parts])
    else:
        images = LazyImages([lambda p=p, i=i: p.images[i] for p in parts for i in range(len(p))])
    return Split(
        name,
        images,
        np.concatenate([p.labels for p in parts]),
        [s for p in parts for s in p.sources],
        [d for p in parts for d in p.digests],
    )

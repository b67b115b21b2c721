"""A video run as overlapping stages: decoding, finding faces and classifying them run at the same time.

Each stage but the last runs in its own thread and hands its items on through a bounded queue
(`Prefetch`), so a fast decoder waits for the slower stages instead of buffering the whole
video, and a stage that fails or a consumer that stops early ends every thread. With ONNX
Runtime and OpenCV releasing the GIL, decoding the next frames and detecting faces in them
overlap the classification of the current ones on a second core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class Prefetch(Generic[T]):
    """Iterate `items` in a daemon thread, at most `depth` items ahead of the consumer.

    Iterate the Prefetch itself to get the items in order; an exception raised while producing
    them is raised there. `close()` (also on leaving a `with` block) stops the producer and waits
    for its thread, so a video can be released safely right after.
    """

    def __init__(self, items: Iterable[T], depth: int, name: str = "emolens-prefetch"):
        if depth < 1:
            raise ValueError(f"a prefetch queue needs room for at least one item, got {depth}")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _run(self, items: Iterable[T]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failed(exc))
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]

    @property
    def pending(self) -> int:
        """Items produced and not yet taken (at most `depth`)."""
        return self._queue.qsize()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

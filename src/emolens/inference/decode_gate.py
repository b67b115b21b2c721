"""How many images decode at once, and how much memory they hold together.

One gate per server (built with the app, shared by the photo API, the live WebSockets
and the apps): at most `slots` decodes run at a time and the sum of their estimated
buffers (ImageHeader.decode_bytes) stays within `budget`. A request that cannot get
in within `wait_s` gets DecoderBusy (503) instead of queueing without end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from emolens.inference.limits import MB, DecoderBusy


class DecodeGate:
    def __init__(self, slots: int, budget: int, *, wait_s: float = 30.0):
        if slots < 1 or budget < 1:
            raise ValueError(f"a decode gate needs at least one slot and one byte, got {slots}, {budget}")
        self.slots, self.budget, self.wait_s = slots, budget, wait_s
        self._cond = threading.Condition()
        self._active = 0
        self._held = 0

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold a slot and nbytes (capped at the budget) for the duration of the block."""
        nbytes = min(max(0, nbytes), self.budget)
        with self._cond:
            admitted = self._cond.wait_for(
                lambda: self._active < self.slots and self._held + nbytes <= self.budget, timeout=self.wait_s
            )
            if not admitted:
                raise DecoderBusy(
                    f"{self._active} images are being decoded ({self._held / MB:.0f} MB of the "
                    f"{self.budget / MB:.0f} MB decode budget): try again in a few seconds"
                )
            self._active += 1
            self._held += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._held -= nbytes
                self._cond.notify_all()

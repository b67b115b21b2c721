"""Keep libjpeg's "Corrupt JPEG data" warnings of our own probe decodes off the terminal.

images.py checks a JPEG for a forged end marker by decoding a copy with bytes slipped in before the
marker (`_forged_end`). On a complete file libjpeg then prints "Corrupt JPEG data: N extraneous
bytes before marker 0xd9" to file descriptor 2, from C, for a file that is fine: every photo
analysed looked broken. OpenCV's log level does not reach it, so the descriptor itself is pointed
at a temporary file for the probe, and whatever else was written there meanwhile (another thread's
log line) is written back afterwards. fd 2 belongs to the whole process, so one lock serialises
the probes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_FD2 = threading.Lock()  # process-wide, as file descriptor 2 is
NOISE = b"Corrupt JPEG data"


@contextmanager
def quiet_libjpeg() -> Iterator[None]:
    """Within the block, lines libjpeg starts with NOISE are dropped; everything else reaches stderr after it."""
    with _FD2, tempfile.TemporaryFile() as sink:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable stderr (closed, replaced): nothing to keep quiet
            yield
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept = b"".join(line for line in sink.read().splitlines(keepends=True) if not line.startswith(NOISE))
            if kept:
                os.write(2, kept)

"""Tasks for the parse pool's tests, run inside its workers (importable by name)."""

from __future__ import annotations

import os
import time


def behave(n: int, how: str) -> int:
    """Return ``n`` after doing ``how``: ``sleep:S``, ``die`` (exit without answering), or ``ok``."""
    if how.startswith("sleep:"):
        time.sleep(float(how.split(":")[1]))
    elif how == "die":
        os._exit(7)
    return n

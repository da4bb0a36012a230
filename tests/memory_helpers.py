"""Peak memory of one call, for the hostile-input tests' "refused before allocating" checks."""
from __future__ import annotations

import tracemalloc
from typing import Any, Callable


def traced_peak(fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """(fn(*args), the peak bytes Python allocated while it ran), measured with tracemalloc."""
    tracemalloc.start()
    try:
        result = fn(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

"""Plain-JSON records: the one conversion every layer uses before writing results.

NumPy scalars and arrays become Python numbers and lists, tuples become lists, dict keys become
strings, NaN becomes ``null`` and +-inf the strings ``"inf"``/``"-inf"`` (JSON has no infinity, and
"never succeeded" must stay distinguishable from a large number). ``dumps`` is deterministic
(sorted keys, fixed separators), so equal data give equal bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["to_jsonable", "dumps"]


def to_jsonable(obj):
    """Recursively convert ``obj`` to plain JSON values.

    >>> to_jsonable({"a": np.array([1.0, np.inf]), 2: (np.int64(3), float("nan"))})
    {'a': [1.0, 'inf'], '2': [3, None]}
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) or (isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))):
        return [to_jsonable(v) for v in obj]  # any sequence, e.g. a live registry FamilyView
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def dumps(obj) -> str:
    """Deterministic JSON text of ``to_jsonable(obj)`` (sorted keys, one-space indent, final newline)."""
    return json.dumps(to_jsonable(obj), indent=1, sort_keys=True) + "\n"

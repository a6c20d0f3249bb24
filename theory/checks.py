"""Argument checks shared by every public function of the toolkit.

Public functions validate, private ones compute (scipy's ``pmf -> _argcheck -> _pmf``): each check
raises ``ValueError`` naming the parameter and its valid range, and returns the value in the
canonical type the private kernel expects.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

__all__ = [
    "check_rewards",
    "check_probability",
    "check_probabilities",
    "check_int",
    "check_real",
    "check_choice",
]


def check_rewards(rewards, *, name: str = "rewards", unit_interval: bool = False) -> np.ndarray:
    """Return ``rewards`` as a C-contiguous float64 array shaped (num_prompts, group_size).

    Raises ``ValueError`` for a rank other than 2, an empty axis, NaN or infinite entries, or (with
    ``unit_interval``) entries outside [0, 1].
    """
    arr = np.asarray(rewards, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array shaped (num_prompts, group_size); got rank {arr.ndim}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have num_prompts >= 1 and group_size >= 1; got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if unit_interval and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name} must lie in [0, 1] for this estimator; got range "
            f"[{arr.min():g}, {arr.max():g}]"
        )
    return np.ascontiguousarray(arr)


def check_probability(name: str, value, *, open_low: bool = False, open_high: bool = False) -> float:
    """Return ``value`` as a float in [0, 1] (or an open end where asked)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number in {_interval(0, 1, open_low, open_high)}")
    v = float(value)
    if math.isnan(v) or v < 0.0 or v > 1.0 or (open_low and v == 0.0) or (open_high and v == 1.0):
        raise ValueError(f"{name} must lie in {_interval(0, 1, open_low, open_high)}; got {value!r}")
    return v


def check_probabilities(name: str, values, *, open_low: bool = False, open_high: bool = False) -> np.ndarray:
    """Array version of :func:`check_probability`; returns a float64 array of the same shape."""
    arr = np.asarray(values, dtype=np.float64)
    bad = np.isnan(arr) | (arr < 0.0) | (arr > 1.0)
    if open_low:
        bad |= arr == 0.0
    if open_high:
        bad |= arr == 1.0
    if np.any(bad):
        first = arr[bad].ravel()[0]
        raise ValueError(f"{name} must lie in {_interval(0, 1, open_low, open_high)}; got {first!r}")
    return arr


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int in [low, high] (either end may be None)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer{_real_range(low, high)}; got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer{_real_range(low, high)}; got {v}")
    return v


def check_real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Return ``value`` as a finite float in the given (closed unless ``open_*``) range."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number{_real_range(low, high, open_low, open_high)}")
    v = float(value)
    too_low = low is not None and (v < low or (open_low and v == low))
    too_high = high is not None and (v > high or (open_high and v == high))
    if too_low or too_high:
        raise ValueError(
            f"{name} must be a finite real number{_real_range(low, high, open_low, open_high)}; got {v!r}"
        )
    return v


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def _interval(lo, hi, open_low, open_high) -> str:
    return f"{'(' if open_low else '['}{lo}, {hi}{')' if open_high else ']'}"


def _real_range(low, high, open_low=False, open_high=False) -> str:
    if low is not None and high is not None:
        return f" in {_interval(low, high, open_low, open_high)}"
    if low is not None:
        return f" {'>' if open_low else '>='} {low}"
    if high is not None:
        return f" {'<' if open_high else '<='} {high}"
    return ""

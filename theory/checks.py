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
    "as_real_array",
    "as_finite_array",
    "check_rewards",
    "check_probability",
    "check_probabilities",
    "check_int",
    "check_int_sequence",
    "check_sequence",
    "check_bool",
    "check_real",
    "check_choice",
    "Option",
    "real_option",
    "int_option",
    "choice_option",
    "bool_option",
]


def as_real_array(name: str, values) -> np.ndarray:
    """Return ``values`` as a float64 array, or raise ``ValueError`` naming ``name``.

    Rejects what NumPy would either refuse with a message that does not name the parameter
    (ragged nesting, strings) or convert silently and wrongly (complex numbers lose their
    imaginary part, ``None`` becomes NaN in object arrays).
    """
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:  # ragged nesting: "inhomogeneous shape ..."
        raise ValueError(f"{name} must be a rectangular array of real numbers (equal-length rows); "
                         f"got {type(values).__name__} that NumPy cannot shape ({exc})") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} must hold real numbers; got complex values")
    if kind in "USV" or kind == "M" or kind == "m":
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype} (e.g. {arr.ravel()[:1].tolist()})")
    if kind == "O":
        flat = arr.ravel()
        for v in flat:
            if not isinstance(v, Real):
                if isinstance(v, (list, tuple, np.ndarray)):
                    raise ValueError(f"{name} must be a rectangular array of real numbers (equal-length rows)")
                raise ValueError(f"{name} must hold real numbers; got {type(v).__name__} {v!r}")
    return arr.astype(np.float64, copy=False)


def as_finite_array(name: str, values, *, ndims=None, low: float | None = None, open_low: bool = False,
                    nonempty: bool = False) -> np.ndarray:
    """:func:`as_real_array`, then every entry finite and >= ``low`` (> with ``open_low``), the rank
    one of ``ndims`` (any if None) and, with ``nonempty``, at least one entry; else ``ValueError``."""
    arr = as_real_array(name, values)
    if ndims is not None and arr.ndim not in ndims:
        raise ValueError(f"{name} must be an array of rank {' or '.join(map(str, ndims))}; got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must hold at least one value; got shape {arr.shape}")
    ok = np.isfinite(arr)
    if low is not None:
        ok &= (arr > low) if open_low else (arr >= low)
    if not np.all(ok):
        raise ValueError(f"{name} must be finite{' and' + _real_range(low, None, open_low) if low is not None else ''} "
                         f"(no NaN or inf); got {float(arr[~ok].ravel()[0])!r}")
    return arr



def as_seed_array(name: str, values) -> np.ndarray:
    """Return ``values`` as a 1-D int64 array of seeds in [0, 2**63), or raise ``ValueError``.

    Integers are taken exactly (never through float64, which would merge seeds above 2**53);
    floats are accepted only when integer-valued and below 2**53.

    >>> as_seed_array("seeds", [3, 2**62 + 1]).tolist() == [3, 2**62 + 1]
    True
    """
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a 1-D array of integer seeds in [0, 2**63)") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integer seeds in [0, 2**63); got shape {arr.shape}")
    if arr.dtype.kind == "u":
        if arr.size and int(arr.max()) >= 2**63:
            raise ValueError(f"{name} must hold integer seeds in [0, 2**63); got {int(arr.max())}")
        return arr.astype(np.int64)
    if arr.dtype.kind == "i":
        if arr.size and int(arr.min()) < 0:
            raise ValueError(f"{name} must hold integer seeds in [0, 2**63); got {int(arr.min())}")
        return arr.astype(np.int64)
    real = as_real_array(name, arr)
    ok = np.isfinite(real) & (real >= 0) & (real < 2.0**53) & (real == np.round(real))
    if not np.all(ok):
        raise ValueError(f"{name} must hold integer seeds in [0, 2**63) (floats only below 2**53); "
                         f"got {real[~ok][0]!r}")
    return real.astype(np.int64)


#: Largest reward magnitude the estimators accept: a group's sum and sum of squared deviations
#: stay below the float64 maximum (1.8e308) for any group of fewer than 4e7 rollouts.
REWARD_MAX = 1e150


def check_rewards(rewards, *, name: str = "rewards", unit_interval: bool = False) -> np.ndarray:
    """Return ``rewards`` as a C-contiguous float64 array shaped (num_prompts, group_size).

    Raises ``ValueError`` for non-real or ragged input, a rank other than 2, an empty axis, NaN or
    infinite entries, magnitudes above :data:`REWARD_MAX` (finite rewards of 1e308 would overflow
    the group mean and std into NaN advantages), or (with ``unit_interval``) entries outside [0, 1].
    """
    arr = as_real_array(name, rewards)
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
    if np.abs(arr).max() > REWARD_MAX:
        raise ValueError(f"{name} must lie in [-{REWARD_MAX:g}, {REWARD_MAX:g}] (larger magnitudes overflow a "
                         f"group's mean and std); got max |r| = {np.abs(arr).max():g}")
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
    arr = as_real_array(name, values)
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


def check_sequence(name: str, values, *, of: str = "values") -> tuple:
    """Return ``values`` (a list, tuple, 1-D array or other iterable, not a string) as a tuple."""
    if isinstance(values, (str, bytes)) or (isinstance(values, np.ndarray) and values.ndim != 1):
        raise ValueError(f"{name} must be a sequence of {of}; got {values!r}")
    try:
        return tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {of}; got {values!r}") from None


def check_int_sequence(name: str, values, *, low: int | None = None, high: int | None = None) -> tuple:
    """Return ``values`` as a tuple of ints in [low, high]; an entry's error names ``name[i]``."""
    return tuple(check_int(f"{name}[i]", v, low=low, high=high) for v in check_sequence(name, values, of="integers"))


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a bool: True or False (a NumPy bool too), not 0/1 or a string."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


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
    """Return ``value`` if it is one of ``choices`` (unhashable values are simply not among them)."""
    try:
        found = value in choices and not isinstance(value, bool)
    except (TypeError, ValueError):  # a list tested against a dict of names; an array against a list
        found = False
    if not found:
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


# ----------------------------------------------------------------------------------------------
# Declared options: a default and a domain, validated by one generic routine (the registry's).
# ----------------------------------------------------------------------------------------------
class Option:
    """One keyword option of a registry entry: its ``default`` and its ``domain``.

    ``check(name, value)`` returns the canonical value or raises ``ValueError`` naming ``name``
    and the domain. ``optional`` options also accept ``None`` (meaning "derived elsewhere", e.g.
    grpo's ``eps`` from its ``convention``).
    """

    __slots__ = ("default", "domain", "_check", "optional", "numeric")

    def __init__(self, default, domain: str, check, *, optional: bool = False, numeric: bool = False):
        self.default, self.domain, self._check = default, domain, check
        self.optional, self.numeric = optional, numeric

    def check(self, name: str, value):
        if value is None and self.optional:
            return None
        return self._check(name, value)

    def __repr__(self) -> str:
        return f"Option(default={self.default!r}, domain={self.domain!r})"


def real_option(default, *, low=None, high=None, open_low=False, open_high=False, optional=False) -> Option:
    """A finite real option in the given range."""
    domain = "finite real" + _real_range(low, high, open_low, open_high) + (" or None" if optional else "")
    return Option(default, domain, lambda n, v: check_real(n, v, low=low, high=high, open_low=open_low,
                                                           open_high=open_high),
                  optional=optional, numeric=True)


def int_option(default, *, low=None, high=None, optional=False) -> Option:
    """An integer option in [low, high]."""
    domain = "integer" + _real_range(low, high) + (" or None" if optional else "")
    return Option(default, domain, lambda n, v: check_int(n, v, low=low, high=high), optional=optional,
                  numeric=True)


def choice_option(default, choices, *, optional=False) -> Option:
    """One of ``choices``."""
    choices = tuple(choices)
    domain = f"one of {sorted(choices)}" + (" or None" if optional else "")
    return Option(default, domain, lambda n, v: check_choice(n, v, choices), optional=optional)


def bool_option(default: bool) -> Option:
    """True or False (not 0/1, not a string)."""
    return Option(default, "True or False", check_bool)

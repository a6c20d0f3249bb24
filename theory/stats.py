"""Uncertainty for verdicts: bootstrap intervals, standard errors and fitted slopes with intervals.

Every interval here is a plain, documented estimator; figures use them so that a verdict's
uncertainty always comes from the same code.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

from theory.checks import as_real_array, check_int, check_real

__all__ = ["mean_se", "mean_ci", "finite_mean_se", "bootstrap_ci", "wilson_ci", "ratio_of", "conditional_ratio",
           "fit_line", "Fit"]


def mean_se(x) -> tuple[float, float]:
    """Sample mean and its standard error s / sqrt(n) (ddof = 1; se = 0 for n = 1)."""
    x = as_real_array("x", x).ravel()
    if x.size == 0:
        raise ValueError("x must hold at least one value")
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return float(x.mean()), se


def mean_ci(x, *, level: float = 0.95) -> tuple[float, float, float]:
    """Sample mean and its Student-t interval: m -+ t_{(1+level)/2, n-1} s / sqrt(n), n >= 2.

    >>> [round(v, 3) for v in mean_ci([1.0, 2.0, 3.0])]
    [2.0, -0.484, 4.484]
    """
    level = check_real("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    x = as_real_array("x", x).ravel()
    if x.size < 2:
        raise ValueError(f"x must hold at least two values for a t-interval; got {x.size}")
    m = x.mean()
    se = x.std(ddof=1) / np.sqrt(x.size)
    t = _st.t.ppf(0.5 + level / 2.0, x.size - 1)
    return float(m), float(m - t * se), float(m + t * se)


def finite_mean_se(x) -> dict:
    """Mean and standard error over the finite entries of ``x`` (e.g. times to a target, inf where
    the target was missed): ``{"mean", "se", "missed"}``; mean is None when nothing is finite, se
    None with fewer than two finite values."""
    x = as_real_array("x", x).ravel()
    ok = np.isfinite(x)
    return {"mean": float(x[ok].mean()) if ok.any() else None,
            "se": float(x[ok].std(ddof=1) / np.sqrt(ok.sum())) if ok.sum() > 1 else None,
            "missed": int((~ok).sum())}


def bootstrap_ci(samples, statistic=np.mean, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
                 axis: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over resamples of ``samples`` along ``axis``.

    ``statistic`` maps a resampled array (same rank as ``samples``) to a scalar, so it can be an
    argmax over a curve averaged across seeds: resample seeds, average, take the argmax.
    """
    n_boot = check_int("n_boot", n_boot, low=10)
    level = check_real("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    seed = check_int("seed", seed, low=0)
    if not callable(statistic):
        raise ValueError(f"statistic must be a callable mapping an array to a scalar; got {statistic!r}")
    x = as_real_array("samples", samples)
    if x.ndim == 0:
        raise ValueError("samples must be an array with at least one axis; got a scalar")
    n = x.shape[check_int("axis", axis, low=-x.ndim, high=x.ndim - 1)]
    if n < 1:
        raise ValueError("samples must hold at least one value along axis")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    boots = np.array([statistic(np.take(x, i, axis=axis)) for i in idx])
    a = (1.0 - level) / 2.0
    return float(np.quantile(boots, a)), float(np.quantile(boots, 1.0 - a))


def wilson_ci(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial fraction k / n (stays informative at k = 0 or k = n,
    where a bootstrap interval collapses to a point).

    >>> [round(x, 3) for x in wilson_ci(200, 200)]
    [0.981, 1.0]
    """
    n = check_int("n", n, low=1)
    k = check_int("k", k, low=0, high=n)
    level = check_real("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    ci = _st.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


class Fit(tuple):
    """(slope, intercept, slope_se, slope_lo, slope_hi) of an ordinary least-squares line."""

    __slots__ = ()

    def __new__(cls, slope, intercept, se, lo, hi):
        return super().__new__(cls, (slope, intercept, se, lo, hi))

    slope = property(lambda s: s[0])
    intercept = property(lambda s: s[1])
    se = property(lambda s: s[2])
    lo = property(lambda s: s[3])
    hi = property(lambda s: s[4])


def ratio_of(q_plus, q_minus):
    """r = q+ / q- of two measured fractions: None when undefined (either is None, or both are 0),
    inf when q- = 0 < q+ (paper E's measured task-advantage ratio)."""
    if q_plus is None or q_minus is None or (q_plus == 0 and q_minus == 0):
        return None
    return float("inf") if q_minus == 0 else q_plus / q_minus


def conditional_ratio(event, outcome) -> tuple:
    """(q+, q-, r) over pooled boolean samples of equal shape: q+ = P(outcome | event), q- =
    P(outcome | not event), each None when its condition holds for no sample, and r =
    :func:`ratio_of` (q+, q-). Paper E's measurement (event: step s correct; outcome: final answer).

    >>> conditional_ratio(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool))
    (0.5, 0.0, inf)
    """
    on = np.asarray(event, dtype=bool)
    hit = np.asarray(outcome, dtype=bool)
    if on.shape != hit.shape:
        raise ValueError(f"event and outcome must have the same shape; got {on.shape} and {hit.shape}")
    n_on, n_off = int(on.sum()), int(on.size - on.sum())
    q_plus = int((hit & on).sum()) / n_on if n_on else None
    q_minus = int((hit & ~on).sum()) / n_off if n_off else None
    return q_plus, q_minus, ratio_of(q_plus, q_minus)


def fit_line(x, y, *, level: float = 0.95) -> Fit:
    """OLS fit y = a + b x with a t-interval for the slope (n >= 3 points).

    For a log-log slope pass ``np.log(x), np.log(y)``.
    """
    level = check_real("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    x = as_real_array("x", x).ravel()
    y = as_real_array("y", y).ravel()
    if x.size != y.size or x.size < 3:
        raise ValueError(f"x and y must have the same length >= 3; got {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    res = _st.linregress(x, y)
    t = _st.t.ppf(0.5 + level / 2.0, x.size - 2)
    return Fit(float(res.slope), float(res.intercept), float(res.stderr),
               float(res.slope - t * res.stderr), float(res.slope + t * res.stderr))

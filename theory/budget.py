"""Paper A: the relative budget xi = H / E[T] and the closed forms it controls.

Reproduces the closed forms behind paper A (Wachi et al., notes in papers/A_relative_budget.md):
the relative budget [V], the time-to-solution laws (discrete per-token hazard and the Gamma/Erlang
case study [S]), the success probability q(xi), the mean and variance of the binary reward
1{T <= H} and of the graded (time-to-solution) reward (H - T + 1)_+ [S], the probability that a
group of G rollouts is informative, the anti-concentration coefficient c(eps) (Definition 3.1 [S])
and the regime map (deficient / balanced / ample [V]). The bounds of Theorems 6.2-6.4 live in
:mod:`theory.budget_bounds`.

Units. The continuous (Gamma) forms are written in units mu = E[T] = 1, so H = xi; T ~ Gamma(K,
rate K) and xi = H p / K with p the rate in tokens. The graded reward is then R = (H - T)_+ (the
continuous version of (H - T + 1)_+, notes A.1 [R]), and its moments are returned normalised by H
(mean/H, var/H^2). The discrete forms take the per-token hazard p and the horizon H in tokens: T is
the token at which the K-th Bernoulli(p) "stage" event happens (negative binomial; K = 1 is the
geometric law), E[T] = K / p, and the graded reward is (H - T + 1)_+ / H in (0, 1] (normalised so
that every registry estimator, including the [0, 1]-only weightings, accepts it) [R].

Numerics. q(xi) uses the regularised incomplete gamma function (-expm1 for K = 1 and
-expm1(H log1p(-p)) for the geometric law). E[R] uses the positive series
E[(H - T)_+] = int_0^H F(t) dt = (1/lam) sum_{j >= K} P(j + 1, lam H), which has no cancellation
as xi -> 0 where the textbook form H P(K, lam H) - (K/lam) P(K + 1, lam H) loses every digit; the
variance is E[R^2] - E[R]^2 or Var[min(T, H)] (= Var R), whichever has the smaller second moment.

Regime thresholds [S]: deficient xi < 0.5, ample xi > 5, balanced in between. These are the ends
beyond which the paper's experiments report much smaller per-iteration gains (notes A.4, single
secondary source); the theory itself only speaks of xi -> 0, xi = Theta(1) and xi -> infinity.

Run the figures built on this module with ``rlvr-lab reproduce --only budget_*``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp
from scipy import stats as _st

from theory.checks import (as_real_array, check_choice, check_int, check_probabilities, check_probability,
                           check_real)

__all__ = [
    "DEFICIENT_BELOW",
    "AMPLE_ABOVE",
    "relative_budget",
    "hazard_for_budget",
    "success_probability",
    "discrete_success_probability",
    "binary_reward_moments",
    "graded_reward_moments",
    "discrete_reward_moments",
    "graded_mean_inverse",
    "informative_probability",
    "anti_concentration",
    "regime",
]

DEFICIENT_BELOW = 0.5  # [S] notes A.4: "much smaller gains for xi < 0.5"
AMPLE_ABOVE = 5.0  # [S] notes A.4: "... and xi > 5"
_SERIES_MAX_X = 200.0  # above lam*H = 200 the closed (difference) form is accurate
# below lam*H = 1e-20 the moments' leading terms are exact to double precision (the next terms are
# smaller by a factor of order lam*H), while the series' terms x0^(K+2) would underflow
_LEADING_MAX_X = 1e-20


def _xi_array(xi, name="xi"):
    arr = as_real_array(name, xi)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
        raise ValueError(f"{name} must be finite and > 0")
    return arr


def _positive_array(x, name):
    arr = as_real_array(name, x)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
        raise ValueError(f"{name} must be finite and > 0")
    return arr


def relative_budget(H, mean_T):
    """Relative budget xi = H / E[T] (paper A, Definition 4.1 [V]).

    ``H`` is the generation horizon (tokens, > 0), ``mean_T`` the base policy's expected number of
    tokens to the first correct solution (> 0). Arrays broadcast.

    >>> float(relative_budget(1024, 512))
    2.0
    """
    H = _positive_array(H, "H")
    mean_T = _positive_array(mean_T, "mean_T")
    return H / mean_T


def hazard_for_budget(xi, H, K: int = 1):
    """Per-token stage hazard p = K xi / H that gives relative budget ``xi`` at horizon ``H`` [R].

    The discrete K-stage law has E[T] = K / p, so xi = H p / K. Requires p <= 1 (xi <= H / K).

    >>> float(hazard_for_budget(2.0, 100, K=1))
    0.02
    """
    K = check_int("K", K, low=1)
    xi = _xi_array(xi)
    H = _positive_array(H, "H")
    p = K * xi / H
    if np.any(p > 1.0):
        raise ValueError(f"xi must be <= H / K (per-token hazard p = K xi / H <= 1); got max p = {p.max():g}")
    return p


def success_probability(xi, K: int = 1):
    """q(xi) = P(T <= H) for T ~ Gamma(K, rate K/E[T]): q = P(K, K xi) (regularised gamma) [S/R].

    K = 1 is the exponential law, q = 1 - exp(-xi). Strictly increasing, q -> 0 as xi -> 0
    (about (K xi)^K / K!) and q -> 1 as xi -> infinity. Domain xi > 0, K >= 1.

    >>> round(float(success_probability(1.0)), 6)
    0.632121
    """
    K = check_int("K", K, low=1)
    xi = _xi_array(xi)
    if K == 1:
        return -np.expm1(-xi)
    return _sp.gammainc(K, K * xi)


def discrete_success_probability(p, H: int, K: int = 1):
    """P(T <= H) when each token completes a stage with probability p and T is the K-th completion.

    K = 1 (geometric hazard): 1 - (1 - p)^H, computed as -expm1(H log1p(-p)). K > 1: the probability
    of at least K stage events in H Bernoulli(p) tokens, the binomial survival function at K - 1.
    Domain p in [0, 1], H >= 1 integer, K >= 1. Source: paper A's geometric hazard [S]; K stages [R].

    >>> round(float(discrete_success_probability(0.01, 100)), 6)
    0.633968
    """
    K = check_int("K", K, low=1)
    H = check_int("H", H, low=1)
    p = check_probabilities("p", p)
    if K == 1:
        with np.errstate(divide="ignore"):
            return -np.expm1(H * np.log1p(-p))
    return _st.binom.sf(K - 1, H, p)


def binary_reward_moments(xi, K: int = 1):
    """Mean q and variance q (1 - q) of the binary reward 1{T <= H} at relative budget xi [V/R].

    >>> [round(float(v), 4) for v in binary_reward_moments(1.0)]
    [0.6321, 0.2325]
    """
    q = success_probability(xi, K)
    return q, q * (1.0 - q)


def _graded_mean_series(x0, K):
    """sum_{j >= K} P(j + 1, x0) for each x0 (positive terms; x0 <= _SERIES_MAX_X)."""
    n_terms = int(np.ceil(np.max(x0) + 12.0 * np.sqrt(np.max(x0)) + 60.0))
    j = K + np.arange(n_terms, dtype=np.float64)  # (J,)
    terms = _sp.gammainc(j[None, :] + 1.0, x0[:, None])  # (n, J)
    weights = j - K  # (J,) for the second moment: sum_{j >= K+1} (j - K) P(j + 1, x0)
    return terms.sum(axis=1), (terms * weights[None, :]).sum(axis=1)


def graded_reward_moments(xi, K: int = 1):
    """Mean and variance of the graded reward R = (H - T)_+ / H, T ~ Gamma(K, rate K/E[T]) [S/R].

    In units E[T] = 1 (H = xi, rate lam = K, x0 = K xi):
    E[R] H = int_0^H P(K, lam t) dt = (1/lam) sum_{j >= K} P(j + 1, x0),
    E[R^2] H^2 = (2/lam^2) sum_{j >= K + 1} (j - K) P(j + 1, x0),
    Var R = Var min(T, H) with E[min] = P(K+1, x0) + xi Q(K, x0),
    E[min^2] = (K+1)/K P(K+2, x0) + xi^2 Q(K, x0). For K = 1 these reduce to the notes' forms
    E[R] = (xi - 1 + e^-xi)/xi and sigma/H = sqrt(1 - e^-2xi - 2 xi e^-xi)/xi. sigma/H is unimodal
    with its peak at xi = Theta(1) (about 1.12 for K = 1) and -> 0 at both ends.
    Returns (mean/H, var/H^2), arrays shaped like xi.

    >>> m, v = graded_reward_moments(1.0)
    >>> round(float(m), 4), round(float(np.sqrt(v)), 4)
    (0.3679, 0.359)
    """
    K = check_int("K", K, low=1)
    xi = _xi_array(xi)
    x0 = np.atleast_1d(K * xi).ravel()
    xs = np.atleast_1d(xi).ravel()
    mean = np.empty_like(x0)
    second = np.full_like(x0, np.inf)
    small = (x0 <= _SERIES_MAX_X) & (x0 >= _LEADING_MAX_X)
    if np.any(small):
        s1, s2 = _graded_mean_series(x0[small], K)
        mean[small] = s1 / x0[small]
        second[small] = 2.0 * s2 / x0[small] ** 2
    big = ~small
    mean[big] = _sp.gammainc(K, x0[big]) - _sp.gammainc(K + 1, x0[big]) / xs[big]
    qc = _sp.gammaincc(K, x0)
    e_min = _sp.gammainc(K + 1, x0) + xs * qc  # E[min(T, H)] in units of E[T]
    # xi^2 overflows above 1e154 (Var/H^2 -> 0 there, as it should: qc = 0) and underflows below
    # 1e-154 (where the leading terms below replace both forms)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        xs2 = xs**2
        e_min2 = (K + 1.0) / K * _sp.gammainc(K + 2, x0) + np.where(qc > 0.0, xs2 * qc, 0.0)
        var_via_min = (e_min2 - e_min**2) / xs2
        use_min = e_min2 / xs2 < second
    var = np.where(use_min, var_via_min, second - mean**2)
    tiny = x0 < _LEADING_MAX_X  # E[R]/H -> x0^K / (K+1)!, E[R^2]/H^2 -> 2 x0^K / (K+2)!
    if np.any(tiny):
        lead = x0[tiny] ** K
        mean[tiny] = lead / _sp.gamma(K + 2.0)
        var[tiny] = 2.0 * lead / _sp.gamma(K + 3.0) - mean[tiny] ** 2
    var = np.maximum(var, 0.0)
    return mean.reshape(np.shape(xi)), var.reshape(np.shape(xi))


def graded_mean_inverse(m, K: int = 1):
    """The xi > 0 at which E[R]/H of :func:`graded_reward_moments` equals ``m`` in (0, 1) [R].

    E[R]/H = int_0^1 F(xi u) du is strictly increasing from 0 to 1, so the root is unique
    (Brent's method on log xi). Used by the idealized case-study update.

    >>> round(float(graded_mean_inverse(graded_reward_moments(2.0)[0])), 6)
    2.0
    """
    K = check_int("K", K, low=1)
    if isinstance(m, np.ndarray) and m.ndim == 0:
        m = float(m)
    m = check_probability("m", m, open_low=True, open_high=True)
    hi = 1.0
    while graded_reward_moments(np.exp(hi), K)[0] < m:
        hi += 2.0
        if hi > 60.0:
            raise ValueError(f"m = {m!r} is too close to 1 to invert")
    root = _opt.brentq(lambda s: float(graded_reward_moments(np.exp(s), K)[0]) - m, -40.0, hi,
                       xtol=1e-14, rtol=4 * np.finfo(float).eps)
    return float(np.exp(root))


def discrete_reward_moments(p: float, H: int, K: int = 1) -> dict:
    """Exact moments for the discrete K-stage hazard law at per-token hazard p and horizon H [R].

    T - K ~ NegBinomial(K, p) (T >= K tokens). Returns a dict with ``q`` = P(T <= H),
    ``binary_var`` = q (1 - q), ``graded_mean`` and ``graded_var`` of (H - T + 1)_+ / H, and
    ``tokens_mean`` = E[min(T, H)] (the tokens a rollout generates). Finite sums over t <= H.

    >>> d = discrete_reward_moments(0.02, 100)
    >>> round(d["q"], 6), round(d["tokens_mean"], 4)
    (0.86738, 43.369)
    """
    K = check_int("K", K, low=1)
    H = check_int("H", H, low=1)
    p = check_probability("p", p, open_low=True)
    t = np.arange(K, H + 1, dtype=np.float64)  # (H - K + 1,)
    pmf = _st.nbinom.pmf(t - K, K, p)  # (H - K + 1,) P(T = t); empty when H < K
    q = float(discrete_success_probability(p, H, K))  # the stable form; equals pmf.sum()
    r = (H - t + 1.0) / H
    g_mean = float(np.sum(r * pmf))
    g_var = max(float(np.sum(r * r * pmf)) - g_mean**2, 0.0)
    # E[min(T, H)] = K + E[min(T, H) - K]: a sum of terms >= 0 on top of K, so never below min(K, H)
    # by round-off (sum t pmf + H (1 - q) gave 4.999999999999999 at H = K = 5); at most H
    tokens = min(K + float(np.sum((t - K) * pmf)) + (H - K) * (1.0 - q), float(H))
    return {"q": q, "binary_var": q * (1.0 - q), "graded_mean": g_mean, "graded_var": g_var,
            "tokens_mean": tokens}


def informative_probability(q, G: int, reward: str = "graded"):
    """Probability that a group of G rollouts carries learning signal, at success probability q.

    graded: at least one success, 1 - (1 - q)^G = -expm1(G log1p(-q)) [R, notes A.1].
    binary: mixed outcomes (a centred estimator is zero on a constant group),
    1 - q^G - (1 - q)^G [R]; it peaks at q = 1/2. Both rise with G.

    >>> round(float(informative_probability(0.5, 8, "binary")), 6)
    0.992188
    """
    G = check_int("G", G, low=1)
    reward = check_choice("reward", reward, ("graded", "binary"))
    q = check_probabilities("q", q)
    with np.errstate(divide="ignore"):
        at_least_one = -np.expm1(G * np.log1p(-q))
        if reward == "graded":
            return at_least_one
        return np.maximum(at_least_one - np.exp(G * np.log(q)), 0.0)


def anti_concentration(xi, eps, K: int = 1, reward: str = "graded"):
    """c(eps) = P[R >= E R + sigma sqrt(eps)] (paper A, Definition 3.1 [S]) at relative budget xi.

    graded (R = (H - T)_+, Gamma(K) law): R >= r0 iff T <= H - r0, so
    c = P(K, K xi (1 - m - s sqrt(eps))) where m = E[R]/H, s = sigma/H (0 if the argument <= 0).
    For K = 1 this is the notes' 1 - exp(-(1 - e^-xi) + sigma sqrt(eps)/mu); c ~ xi^K -> 0 as
    xi -> 0 (f(z) = z^K) and c = Theta(1) otherwise. binary: c = q if q + sqrt(q(1-q) eps) <= 1,
    else 0 [R]; for 0 < q < 1 the condition is 1 - q >= q eps, evaluated with the complement
    1 - q = Q(K, K xi) computed directly (not as 1 - q, which rounds to 0 once q rounds to 1:
    that returned c = 1 instead of 0 at large xi). eps >= 0.

    >>> round(float(anti_concentration(1.0, 0.1)), 4)
    0.4046
    """
    K = check_int("K", K, low=1)
    eps = check_real("eps", eps, low=0.0)
    reward = check_choice("reward", reward, ("graded", "binary"))
    xi = _xi_array(xi)
    if reward == "binary":
        q = success_probability(xi, K)
        miss = np.exp(-xi) if K == 1 else _sp.gammaincc(K, K * xi)  # 1 - q without cancellation
        return np.where(miss >= q * eps, q, 0.0)
    m, v = graded_reward_moments(xi, K)
    arg = K * xi * (1.0 - m - np.sqrt(v * eps))
    return np.where(arg > 0.0, _sp.gammainc(K, np.maximum(arg, 0.0)), 0.0)


def regime(xi, deficient_below: float = DEFICIENT_BELOW, ample_above: float = AMPLE_ABOVE):
    """'deficient' (xi < deficient_below), 'ample' (xi > ample_above) or 'balanced' [V names, S cuts].

    Default thresholds 0.5 and 5 are the ends of the paper's reported efficient range (notes A.4,
    single source [S]). Returns a string for a scalar, an array of strings otherwise.

    >>> regime([0.1, 1.7, 9.0]).tolist()
    ['deficient', 'balanced', 'ample']
    """
    lo = check_real("deficient_below", deficient_below, low=0.0, open_low=True)
    hi = check_real("ample_above", ample_above, low=lo)
    xi = _xi_array(xi)
    out = np.where(xi < lo, "deficient", np.where(xi > hi, "ample", "balanced"))
    return str(out) if out.ndim == 0 else out

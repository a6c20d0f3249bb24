"""Paper C, kernelized advantage estimation (KAE): kernels, the leave-one-out kernel value, the
baselines it is compared with, and the bias/variance orders of its theory.

Notation (paper C notes, C.2-C.4). Prompt x; iteration i >= 1; a group of G binary rewards
Z_1..Z_G of x at iteration i; the history H_i(x) = {(I_j, Z_j)} of earlier rewards of x with their
iteration; V = V_i(x) the current success probability. The estimators of V that give the
advantage A_g = Z_g - V_hat_g:

==============  ==========================================================  =========================
estimator       V_hat_g                                                     value MSE (binary Z)
==============  ==========================================================  =========================
GRPO / RLOO     mean_{k != g} Z_k                                           V(1-V)/(G-1)   [V]
REINFORCE++     mean of all B G rewards of the batch                        (V_bar-V)^2 + Var  [V]/[R]
KAE             sum_j w_j Z_j / sum_j w_j over history and group            O(h^min(p,s) + 1/(ih))^2
                (w = K((i - I_j)/(i h)); group others at K(0))                + O(1/(N h))   [V]
==============  ==========================================================  =========================

The registry entry ``kae`` (theory.estimators) is defined here: the Numba kernel ``kae_row`` over
one group, and :func:`advantages` over a batch with its state (theory.kernel_history.KernelHistory,
``new_state("kae")``). Choices the notes leave open [R]:

- M = 0 (G = 1 and no history in the window): the baseline is 0, so A = Z (plain REINFORCE).
- Rows of one call are processed in order; each pushes its rewards at iteration i after its own
  advantages are computed, so a prompt repeated within a batch sees the earlier copy with u = 0.
- The history keeps the last ``capacity`` rewards of each prompt.
- The kernels are one-sided in practice (lags i - I_j >= 0), so their first moment is non-zero and
  their order is s = 1: the bias is O(h) even for a smoother (p > 1) drift, and the Stone rate
  -2p/(2p+1) is reachable only for p <= 1 with these kernels (p = 1 gives -2/3).
- The normaliser M is the total kernel weight (notes C.3 [S/R]).

Use (through the registry)::

    hist = new_state("kae", capacity=4096)
    A = advantages("kae", rewards, prompt_ids=ids, step=i, state=hist, bandwidth=0.2)
    saved = hist.to_dict(); hist = state_from_dict("kae", saved)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from theory.checks import (as_finite_array, bool_option, check_choice, check_int, check_probabilities,
                          check_probability, check_real, choice_option, int_option, real_option)
from theory.kernel_history import KernelHistory, _push

__all__ = ["KernelHistory", "kae_row", "OPTIONS", "advantages", "new_history", "kernel_weight", "kae_values",
           "nw_variance", "grpo_loo_mse", "global_mean_mse", "heterogeneity_bias", "bias_order", "variance_order",
           "optimal_bandwidth", "stone_exponent", "KERNELS", "TRIANGULAR", "EXPONENTIAL"]

TRIANGULAR, EXPONENTIAL = 0, 1
KERNELS = {"triangular": TRIANGULAR, "exponential": EXPONENTIAL}
#: The registry entry's options and domains (validated by theory.estimators before any call here).
#: ``capacity`` sizes a new history (new_state); estimate() accepts and ignores it.
OPTIONS = {"bandwidth": real_option(0.2, low=0, open_low=True),
           "kernel": choice_option("triangular", tuple(KERNELS)),
           "decay": real_option(0.5, low=0.0, high=1.0, open_low=True, open_high=True),
           "update": bool_option(True),
           "capacity": int_option(4096, low=1)}


@njit(cache=True)
def _kernel(kernel_code, u, decay):
    if kernel_code == TRIANGULAR:
        return max(1.0 - u, 0.0)
    return decay ** abs(u)


@njit(cache=True)
def kae_row(r, step, h_iter, h_reward, n_hist, bandwidth, kernel_code, decay, out):
    """KAE advantages of one group ``r`` (G,) at iteration ``step`` >= 1 given ``n_hist`` history entries."""
    num = 0.0
    den = 0.0
    scale = step * bandwidth
    prev = np.nan  # the iteration whose weight k holds (NaN: none yet; NaN != anything)
    k = 0.0
    for j in range(n_hist):
        if h_iter[j] != prev:  # entries come G at a time per iteration: one weight per iteration
            prev = h_iter[j]
            k = _kernel(kernel_code, (step - prev) / scale, decay)
        num += k * h_reward[j]
        den += k
    g = r.shape[0]
    total = 0.0
    for k in range(g):
        total += r[k]
    k0 = _kernel(kernel_code, 0.0, decay)
    for k in range(g):
        m = den + k0 * (g - 1)
        out[k] = r[k] - (num + k0 * (total - r[k])) / m if m > 0.0 else r[k]


def new_history(*, capacity=4096, **_options) -> KernelHistory:
    """The entry's ``make_state``: an empty history (the other options do not shape it)."""
    return KernelHistory(capacity)


def advantages(rewards: np.ndarray, *, prompt_ids, step, state, bandwidth=0.2, kernel="triangular",
               decay=0.5, update=True, capacity=None) -> np.ndarray:
    """KAE advantages of validated ``rewards`` (P, G); pushes the rewards into ``state`` if ``update``.

    Options arrive validated by the registry; ``capacity`` belongs to the state (ignored here).
    """
    if not isinstance(state, KernelHistory):
        raise ValueError("state must be a theory.kernel.KernelHistory (new_state('kae') or state_from_dict)")
    step = check_int("step", step, low=1)
    code = KERNELS[kernel]
    ids = np.asarray(prompt_ids).tolist() if not isinstance(prompt_ids, (list, tuple)) else list(prompt_ids)
    if not isinstance(ids, list) or len(ids) != rewards.shape[0]:
        raise ValueError(f"prompt_ids must have one id per row of rewards ({rewards.shape[0]}); got {ids!r}")
    for pid in ids:
        try:
            hash(pid)
        except TypeError:
            raise ValueError(f"prompt_ids must be hashable ids (int or str); got {pid!r}") from None
    history = state
    out = np.empty_like(rewards)
    for p, pid in enumerate(ids):
        s = history.slot(pid)
        n = int(min(history.count[s], history.capacity))
        kae_row(rewards[p], step, history.iters[s], history.rewards[s], n, bandwidth, code, decay, out[p])
        if update:
            history.count[s] = _push(rewards[p], float(step), history.iters[s], history.rewards[s], history.count[s])
    return out


def kernel_weight(u, kernel: str = "triangular", decay: float = 0.5) -> np.ndarray:
    """Kernel weight K(u) at scaled lags u = (i - I_j)/(i h) >= 0 [V, paper C, C.3].

    triangular: K(u) = max(1 - u, 0) (the paper's main kernel; zero beyond u = 1, i.e. iterations
    older than i (1 - h) are ignored); exponential: K(u) = decay^|u|, decay in (0, 1) (the
    sensitivity analysis). Both have K(0) = 1.

    >>> kernel_weight([0.0, 0.25, 1.0, 3.0]).tolist()
    [1.0, 0.75, 0.0, 0.0]
    >>> kernel_weight([0.0, 1.0, 2.0], "exponential", 0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    check_choice("kernel", kernel, KERNELS)
    decay = check_real("decay", decay, low=0.0, high=1.0, open_low=True, open_high=True)
    u = np.asarray(u, dtype=np.float64)
    if np.any(~np.isfinite(u)) or np.any(u < 0):
        raise ValueError("u must be finite scaled lags >= 0")
    return np.maximum(1.0 - u, 0.0) if kernel == "triangular" else decay ** np.abs(u)


def kae_values(rewards, step: int, hist_iters=(), hist_rewards=(), *, bandwidth: float = 0.2,
               kernel: str = "triangular", decay: float = 0.5) -> np.ndarray:
    """Leave-one-out Nadaraya-Watson value V_hat_g of each trace g of one group [V, paper C, C.3].

        V_hat_g = [ sum_j K((i - I_j)/(i h)) Z_j + K(0) sum_{k != g} Z_k ] / M,
        M       =   sum_j K((i - I_j)/(i h))     + K(0) (G - 1),

    with the relative bandwidth h > 0 (the window is a fraction h of the elapsed training).
    Domain: ``rewards`` (G,) real, ``step`` = i >= 1, history iterations in [1, i]. Empty history:
    the leave-one-out (RLOO) mean [R]; M = 0 (G = 1, nothing in the window): 0 [R]. Computed by
    the registry's Numba kernel :func:`kae_row` (V_hat = Z - A).

    >>> kae_values([1.0, 0.0, 1.0], step=1).tolist()          # empty history: RLOO mean
    [0.5, 1.0, 0.5]
    >>> kae_values([1.0], step=10, hist_iters=[9, 9, 2], hist_rewards=[1, 0, 1], bandwidth=0.5).round(4).tolist()
    [0.5]
    """
    r = np.ascontiguousarray(rewards, dtype=np.float64)
    if r.ndim != 1 or r.size < 1 or not np.all(np.isfinite(r)):
        raise ValueError("rewards must be a non-empty finite 1-D array (one group)")
    step = check_int("step", step, low=1)
    it = np.ascontiguousarray(hist_iters, dtype=np.float64).ravel()
    z = np.ascontiguousarray(hist_rewards, dtype=np.float64).ravel()
    if it.size != z.size:
        raise ValueError(f"hist_iters and hist_rewards must have the same length; got {it.size} and {z.size}")
    if it.size and (it.min() < 1 or it.max() > step or not np.all(np.isfinite(z))):
        raise ValueError(f"hist_iters must lie in [1, step={step}] and hist_rewards must be finite")
    bandwidth = check_real("bandwidth", bandwidth, low=0, open_low=True)
    code = KERNELS[check_choice("kernel", kernel, KERNELS)]
    decay = check_real("decay", decay, low=0.0, high=1.0, open_low=True, open_high=True)
    out = np.empty_like(r)
    kae_row(r, step, it, z, it.size, bandwidth, code, decay, out)
    return r - out


def nw_variance(v: float, weights) -> float:
    """Exact variance of a weighted mean of independent Bernoulli(v) rewards with weights w_j >= 0:

        Var = v (1 - v) sum_j w_j^2 / (sum_j w_j)^2.

    It is KAE's exact value MSE when V is constant over the window (no drift, no bias) [R]; with
    G - 1 unit weights (empty history) it is GRPO's v(1-v)/(G-1).

    >>> bool(round(nw_variance(0.3, [1, 1, 1]), 12) == round(float(grpo_loo_mse(0.3, 4)), 12))
    True
    """
    v = check_probability("v", v)
    w = as_finite_array("weights", weights, low=0).ravel()
    if w.sum() <= 0:
        raise ValueError("weights must be finite, >= 0 and not all zero")
    w = np.ldexp(w, -math.frexp(float(w.max()))[1])  # scale-free: by a power of two (exact), so w^2 stays finite
    return v * (1.0 - v) * float(np.sum(w * w)) / float(w.sum()) ** 2


def grpo_loo_mse(v, group_size: int) -> np.ndarray:
    """Value MSE of GRPO's leave-one-out mean: E[(mean_{k != g} Z_k - V)^2] = V(1 - V)/(G - 1) [V, C.4].

    It does not shrink with training at fixed G (inconsistent). Domain: V in [0, 1], G >= 2.

    >>> float(grpo_loo_mse(0.5, 5))
    0.0625
    """
    g = check_int("group_size", group_size, low=2)
    v = check_probabilities("v", v)
    return v * (1.0 - v) / (g - 1)


def heterogeneity_bias(values) -> np.ndarray:
    """Bias of the global batch mean as a baseline for each prompt b: V_bar - V_b, where V_bar is
    the batch's mean value [V, C.4: REINFORCE++ is "biased by between-prompt heterogeneity"].

    >>> heterogeneity_bias([0.2, 0.6]).round(6).tolist()
    [0.2, -0.2]
    """
    v = check_probabilities("values", values)
    if v.ndim != 1 or v.size < 1:
        raise ValueError("values must be a non-empty 1-D array (one value per prompt of the batch)")
    return v.mean() - v


def global_mean_mse(values, group_size: int) -> np.ndarray:
    """Value MSE of REINFORCE++'s global mean m = (1/(B G)) sum_{b,g} Z_bg as prompt b's baseline:

        E[(m - V_b)^2] = (V_bar - V_b)^2 + sum_c V_c (1 - V_c) / (B^2 G)        [R, from C.4]

    (bias squared plus the variance of m; independent Bernoulli rewards). Averaged over the batch,
    the first term is the between-prompt variance of V, which no amount of training removes.

    >>> global_mean_mse([0.2, 0.6], 4).round(6).tolist()
    [0.065, 0.065]
    """
    g = check_int("group_size", group_size, low=1)
    v = check_probabilities("values", values)
    b = heterogeneity_bias(v)
    return b * b + float(np.sum(v * (1.0 - v))) / (v.size ** 2 * g)


def bias_order(h, i, p: float = 1.0, s: float = 1.0) -> np.ndarray:
    """Order of KAE's bias, h^min(p, s) + 1/(i h) (Theorem 1 [V]); constants 1.

    p: Hoelder smoothness of i -> V_i(x) in rescaled time; s: kernel order (1 for the one-sided
    kernels here [R]). Domain: h > 0, i >= 1, p, s > 0.

    >>> float(bias_order(0.1, 100))
    0.2
    """
    h, i = as_finite_array("h", h, low=0, open_low=True), as_finite_array("i", i, low=1)
    p = check_real("p", p, low=0, open_low=True)
    s = check_real("s", s, low=0, open_low=True)
    return h ** min(p, s) + 1.0 / (i * h)


def variance_order(n, h) -> np.ndarray:
    """Order of KAE's variance, 1/(N h), N = reward observations of x so far (Theorem 1 [V]).

    >>> float(variance_order(1000, 0.1))
    0.01
    """
    n, h = as_finite_array("n", n, low=1), as_finite_array("h", h, low=0, open_low=True)
    return 1.0 / (n * h)


def optimal_bandwidth(n, p: float = 1.0, c: float = 1.0) -> np.ndarray:
    """Bandwidth rule h = c N^(-1/(2p+1)) balancing bias^2 ~ h^(2p) and variance ~ 1/(N h)
    (Corollary 1 [V]; the constant c is not given by the paper [R]).

    >>> float(optimal_bandwidth(1000))
    0.1
    """
    n = as_finite_array("n", n, low=1)
    p = check_real("p", p, low=0, open_low=True)
    c = check_real("c", c, low=0, open_low=True)
    return c * n ** (-1.0 / (2.0 * p + 1.0))


def stone_exponent(p: float = 1.0, s: float = 1.0) -> float:
    """Exponent of KAE's MSE in N under the bandwidth rule: MSE = O(N^(-2q/(2q+1))), q = min(p, s)
    (Corollary 1 [V]; -2/3 for a Lipschitz drift; the kernel order s caps it [R]).

    >>> round(stone_exponent(1.0), 4), round(stone_exponent(2.0, 2.0), 4), round(stone_exponent(2.0), 4)
    (-0.6667, -0.8, -0.6667)
    """
    p = check_real("p", p, low=0, open_low=True)
    s = check_real("s", s, low=0, open_low=True)
    q = min(p, s)
    return -2.0 * q / (2.0 * q + 1.0)

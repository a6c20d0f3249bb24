"""Paper A: time-to-solution RL simulator (Numba), driven by the estimator registry.

What it simulates. A population of P prompts with heterogeneous difficulty d_x. A shared policy
parameter theta (a "skill") sets every prompt's per-token stage hazard p_x = sigmoid(theta - d_x);
a rollout succeeds at the token T where the K-th stage event happens (K = 1: geometric T with
constant hazard, paper A's discrete law [S]; K > 1: negative binomial, the discrete analogue of the
Gamma(K) case study [R]). Each iteration draws G rollouts per prompt, truncated at the horizon H,
scores them with the binary reward 1{T <= H} or the graded reward (H - T + 1)_+ / H, turns the
rewards of each group into advantages with ANY registry estimator (``advantage_row``/``keep_row``
of theory.estimators, called inside the kernel; ``kae`` is stateful and not supported here) and
takes one policy-gradient step on theta with the exact score of the truncated likelihood.

Modelling choices the paper leaves open [R]:
- Hazard parameterisation: p_x = sigmoid(theta - d_x), i.e. theta shifts every prompt's log-odds
  of finishing a stage on a token. One shared theta models a model's skill (learning on one prompt
  transfers to all), which is the regime of the paper's experiments (one LLM, many prompts).
- Heterogeneous difficulty: d_x = spread * Phi^-1((x + 1/2) / P), deterministic normal quantiles
  (:func:`difficulty_population`), so seeds only change the rollouts, never the population.
- Population relative budget: xi = H / mean_x E[T_x] with E[T_x] = K / p_x (the definition of
  paper A applied to the prompt mixture); ``accuracy`` is mean_x P(T_x <= H_eval), exact.
- Score of the truncated likelihood: a rollout observed for n = min(T, H) tokens with s stage events
  has log-likelihood s log p + (n - s) log(1 - p), so d/dtheta = s - n p (dp/dtheta = p (1 - p)).
- Update: theta += lr * sum_x keep_x sum_i A_xi (s_xi - n_xi p_x) / (P G), a sequence-level sum
  (no per-token length normalisation, as Dr.GRPO) over a constant normaliser (filtered dapo groups
  count as zero).
- Compute: tokens = sum of min(T, H) over the iteration's rollouts; rollouts = P G per iteration.

Determinism: draws come from simulate.rng's counter RNG, stream = (prompt << 32) + iteration,
counter = rollout * K + stage; a run is serial and a sweep runs its runs in one parallel region
(a very large single run may split its prompts, reducing them in prompt order), so the numbers do
not depend on the thread count, and a run with more iterations extends a shorter one exactly. A
plain-Python oracle (tests/test_budget_simulate.py) reproduces the kernels exactly. The kernels
(fused group step: vectorised draws first, branch-free bookkeeping) are in
simulate.budget_kernel.

Figures: ``rlvr-lab reproduce --only budget_*``; speed: ``rlvr-lab bench`` (see
:func:`bench_cases`, with the NumPy twin in simulate.budget_numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp

from simulate.budget_kernel import STREAM_SHIFT, _prompts_parallel_kernel, _run, _sweep_kernel, scratch
from simulate.rng import padded
from simulate.schedule import workers
from theory.budget import discrete_success_probability
from theory.checks import as_finite_array, check_choice, check_int, check_real
from theory.estimators import resolve

__all__ = ["BudgetRun", "REWARDS", "difficulty_population", "population_xi", "theta_for_budget",
           "accuracy", "simulate_policy_gradient", "simulate_sweep", "bench_cases"]

REWARDS = {"binary": 0, "graded": 1}
_STREAM_SHIFT = STREAM_SHIFT
# a single run splits its prompts over threads only from this many stage draws per iteration on
# (below it the per-iteration parallel region costs more than it saves, above all on shared cores)
PROMPT_PARALLEL_MIN_DRAWS = 1 << 20


@dataclass(frozen=True)
class BudgetRun:
    """Per-iteration results of :func:`simulate_policy_gradient` (n = n_iter).

    theta, accuracy (at H_eval), mean_T, xi: (n + 1,) before each iteration and after the last;
    grad, tokens, rollouts, successes, reward_mean, reward_var, mixed_groups (non-constant rewards),
    success_groups (>= 1 success), kept_groups: (n,) per iteration.
    """

    theta: np.ndarray
    accuracy: np.ndarray
    mean_T: np.ndarray
    xi: np.ndarray
    grad: np.ndarray
    tokens: np.ndarray
    rollouts: np.ndarray
    successes: np.ndarray
    reward_mean: np.ndarray
    reward_var: np.ndarray
    mixed_groups: np.ndarray
    success_groups: np.ndarray
    kept_groups: np.ndarray


def difficulty_population(P: int, spread: float = 0.0) -> np.ndarray:
    """Difficulties d_x = spread * Phi^-1((x + 1/2) / P), x < P: (P,) deterministic quantiles [R].

    >>> difficulty_population(4, 1.0).round(3).tolist()
    [-1.15, -0.319, 0.319, 1.15]
    """
    P = check_int("P", P, low=1)
    spread = check_real("spread", spread, low=0.0)
    return spread * _sp.ndtri((np.arange(P) + 0.5) / P)


def _hazards(theta, d):
    return _sp.expit(np.asarray(theta, dtype=np.float64)[..., None] - d)  # (..., P)


def _theta_d(theta, d):
    """theta (finite, any shape) and d (finite, 1-D, at least one prompt) as float64 arrays."""
    return as_finite_array("theta", theta), as_finite_array("d", d, ndims=(1,), nonempty=True)


def population_xi(theta, d, H, K: int = 1):
    """xi = H / mean_x E[T_x], E[T_x] = K / p_x, p_x = sigmoid(theta - d_x) [R]; theta may be (n,)."""
    theta, d = _theta_d(theta, d)
    H, K = check_int("H", H, low=1), check_int("K", K, low=1)
    mean_T = np.mean(K / _hazards(theta, d), axis=-1)
    return H / mean_T


def theta_for_budget(xi0: float, d, H: int, K: int = 1) -> float:
    """The theta at which the population relative budget is ``xi0`` (needs xi0 < H / K)."""
    xi0 = check_real("xi0", xi0, low=0.0, open_low=True)
    H = check_int("H", H, low=1)
    K = check_int("K", K, low=1)
    if xi0 >= H / K:
        raise ValueError(f"xi0 must be < H / K = {H / K:g} (per-token hazard below 1); got {xi0!r}")
    d = np.asarray(d, dtype=np.float64)
    f = lambda th: np.log(population_xi(th, d, H, K)) - np.log(xi0)  # increasing in theta
    lo, hi = d.min() - 60.0, d.max() + 60.0  # hazards from about e^-60 to 1 - e^-60 for every prompt
    if not f(lo) <= 0.0 <= f(hi):
        xi_lo, xi_hi = float(population_xi(lo, d, H, K)), float(population_xi(hi, d, H, K))
        raise ValueError(f"xi0 must be in [{xi_lo:.6g}, {xi_hi:.6g}] (hazards within e^-60 of 0 and 1) for "
                         f"this d, H = {H} and K = {K}; got {xi0!r}")
    return float(_opt.brentq(f, lo, hi, xtol=1e-13))


def accuracy(theta, d, H_eval: int, K: int = 1):
    """mean_x P(T_x <= H_eval) at hazards sigmoid(theta - d_x), exact; theta may be (n,)."""
    H_eval = check_int("H_eval", H_eval, low=1)
    return _accuracy_at(_hazards(*_theta_d(theta, d)), H_eval, check_int("K", K, low=1))


def _accuracy_at(p, H_eval, K):
    """mean_x P(T_x <= H_eval) at hazards p (..., P)."""
    return np.mean(discrete_success_probability(p, int(H_eval), K), axis=-1)


def _validate(d, H, K, G, n_iter, reward, estimator, estimator_options):
    d = np.ascontiguousarray(as_finite_array("d", d, ndims=(1,), nonempty=True))
    K = check_int("K", K, low=1, high=64)
    G = check_int("G", G, low=1)
    n_iter = check_int("n_iter", n_iter, low=0, high=2**_STREAM_SHIFT - 1)
    if d.size >= 2**31:
        raise ValueError("d must hold fewer than 2**31 prompts (RNG stream layout)")
    reward_kind = REWARDS[check_choice("reward", reward, REWARDS)]
    spec = resolve(estimator, **estimator_options)  # the registry checks the name, options and statelessness
    return d, K, G, n_iter, reward_kind, spec


def _outputs(lead, n_iter):
    f = lambda: np.zeros(lead + (n_iter,), dtype=np.float64)
    i = lambda: np.zeros(lead + (n_iter,), dtype=np.int64)
    return (np.zeros(lead + (n_iter + 1,)), f(), f(), i(), f(), f(), i(), i(), i())


def _package(outs, d, H, H_eval, K, G):
    theta, grad, tokens, succ, rsum, rsq, mixed, anys, kept = outs
    n = d.size * G
    mean = rsum / n
    H = np.asarray(H, dtype=np.float64)[..., None]
    H_eval = np.atleast_1d(H_eval)
    p = _hazards(theta, d)  # (..., n_iter + 1, P), once for both (as accuracy() computes them)
    with np.errstate(divide="ignore"):  # p = 0 (theta -> -inf) gives E[T] = inf, xi = 0
        mean_T = np.mean(K / p, axis=-1)  # (..., n_iter + 1)
    if np.all(H_eval == H_eval.flat[0]):
        acc = _accuracy_at(p, H_eval.flat[0], K)
    else:
        acc = np.stack([_accuracy_at(p[b], h, K) for b, h in enumerate(H_eval)])
    return BudgetRun(theta=theta, accuracy=acc, mean_T=mean_T, xi=H / mean_T, grad=grad, tokens=tokens,
                     rollouts=np.full(grad.shape, n, dtype=np.int64), successes=succ, reward_mean=mean,
                     reward_var=np.maximum(rsq / n - mean**2, 0.0) * n / max(n - 1, 1),
                     mixed_groups=mixed, success_groups=anys, kept_groups=kept)


def simulate_policy_gradient(*, d, theta0: float, H: int, K: int = 1, G: int = 8, n_iter: int = 20,
                             lr: float = 0.01, estimator: str = "grpo", reward: str = "binary",
                             H_eval: int | None = None, seed: int = 0, parallel: bool = True,
                             **estimator_options) -> BudgetRun:
    """Run the time-to-solution policy-gradient loop; returns per-iteration arrays (:class:`BudgetRun`).

    ``d`` (P,) difficulties, ``theta0`` the base policy, ``H`` the training horizon, ``H_eval`` the
    evaluation horizon of ``accuracy`` (default H). ``parallel`` lets a large run (at least
    :data:`PROMPT_PARALLEL_MIN_DRAWS` stage draws per iteration) split each iteration's prompts over
    threads; smaller runs stay serial (a parallel region per iteration costs more than it saves).
    Either way the numbers are identical. Estimator options go to the registry; many independent
    runs belong in :func:`simulate_sweep` (one parallel region over runs).

    >>> d = difficulty_population(16, 0.5)
    >>> run = simulate_policy_gradient(d=d, theta0=theta_for_budget(1.5, d, 100), H=100, n_iter=3)
    >>> run.theta.shape, int(run.rollouts.sum())
    ((4,), 384)
    """
    d, K, G, n_iter, reward_kind, spec = _validate(d, H, K, G, n_iter, reward, estimator, estimator_options)
    theta0 = check_real("theta0", theta0)
    H = check_int("H", H, low=1)
    lr = check_real("lr", lr)
    seed = check_int("seed", seed, low=0, high=2**63 - 1)
    H_eval = H if H_eval is None else check_int("H_eval", H_eval, low=1)
    outs = _outputs((), n_iter)
    P = d.size
    if parallel and P > 1 and P * G * K >= PROMPT_PARALLEL_MIN_DRAWS:
        _prompts_parallel_kernel(seed, theta0, d, float(H), K, G, n_iter, lr, reward_kind, spec.code,
                                 spec.params, *outs, np.zeros((P, G)), np.zeros((P, G)), np.zeros((P, G)),
                                 np.zeros((P, padded(G * K))), np.zeros((P, 8)))
    else:
        _run(seed, theta0, d, float(H), K, G, n_iter, lr, reward_kind, spec.code, spec.params, *outs, *scratch(G, K))
    return _package(outs, d, H, H_eval, K, G)


def simulate_sweep(*, d, theta0, H, seed, K: int = 1, G: int = 8, n_iter: int = 20, lr=0.01,
                   estimator: str = "grpo", reward: str = "binary", H_eval=None,
                   **estimator_options) -> BudgetRun:
    """Independent runs in parallel (one per entry of the broadcast ``theta0``, ``H``, ``seed``, ``lr``,
    ``H_eval``), each exactly :func:`simulate_policy_gradient`; arrays gain a leading run axis (R,).

    >>> d = difficulty_population(8, 0.5)
    >>> runs = simulate_sweep(d=d, theta0=[-3.0, -2.0], H=[64, 64], seed=[0, 1], n_iter=2)
    >>> runs.xi.shape
    (2, 3)
    """
    d, K, G, n_iter, reward_kind, spec = _validate(d, 1, K, G, n_iter, reward, estimator, estimator_options)
    theta0, H, seed, lr = np.broadcast_arrays(np.asarray(theta0, dtype=np.float64), np.asarray(H),
                                              np.asarray(seed), np.asarray(lr, dtype=np.float64))
    theta0, H, seed, lr = (np.atleast_1d(a).ravel().copy() for a in (theta0, H, seed, lr))  # own, writeable
    for name, arr in (("theta0", theta0), ("lr", lr)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if not (np.issubdtype(H.dtype, np.integer) and np.all(H >= 1)):
        raise ValueError("H must hold integers >= 1")
    if not (np.issubdtype(seed.dtype, np.integer) and np.all(seed >= 0)):
        raise ValueError("seed must hold integers >= 0")
    R = theta0.size
    H_eval = H if H_eval is None else np.broadcast_to(np.asarray(H_eval), (R,))
    if not (np.issubdtype(np.asarray(H_eval).dtype, np.integer) and np.all(np.asarray(H_eval) >= 1)):
        raise ValueError("H_eval must hold integers >= 1")
    outs = _outputs((R,), n_iter)
    _sweep_kernel(workers(R), seed.astype(np.int64), theta0, d, H.astype(np.float64), K, G, n_iter, lr, reward_kind,
                  spec.code, spec.params, *outs)
    return _package(outs, d, H, H_eval, K, G)


def bench_cases(quick: bool) -> list:
    """Rollouts/s: Numba kernel vs the NumPy twin vs a bare loop drawing the same uniforms."""
    from simulate.budget_numpy import make_bench_cases  # the twin and the limit live apart

    return make_bench_cases(quick)

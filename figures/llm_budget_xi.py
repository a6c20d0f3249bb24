"""Paper A on SmolLM2-135M-Instruct: q(H), the Gamma model of T, and where the reward spread peaks.

Reproduces, on a real model, the measurements paper A makes on its LLMs: sample G rollouts per
prompt at a long horizon, find the time to first correct answer T in each, estimate E[T] with
censoring, and state xi = H / E[T]. Reads ``results/llm/xi_arithmetic.json`` written by

    rlvr-lab llm xi --model smollm2-135m --task arithmetic --task-opt digits=2 --prompts 40 \\
        --group 6 --horizon 64 --batch-size 60 --seed 0 --out results/llm/xi_arithmetic.json

(no torch here: the figure reads saved JSON). Run with ``rlvr-lab reproduce --only llm_budget_xi``.

Departures from paper A: a 135M model on 2-digit sums instead of 3-4B models on GSM8K/MATH; a
few dozen prompts (sample sizes are in the verdicts); the graded reward R = (H - T + 1) 1{T <= H}
[S] is evaluated at every H <= H_max from the same rollouts (exact by causal sampling). The
learning-efficiency-vs-xi claim needs training runs at several H (``rlvr-lab llm train --horizon``)
that were not affordable on the 2-core CPU of the committed run; it is not claimed here.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from figures.base import Figure
from figures.llm_inputs import load, placeholder, provenance, times_array
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict, judge_interval
from theory.stats import bootstrap_ci

FILE = "xi_arithmetic.json"
TOL = 0.05  # declared before looking: |q_emp - q_gamma| tolerance at every H

CLAIMS = (
    Claim("A.llm-gamma-fit",
          "On a real model, the time to first correct solution T under the base policy is well "
          "described by a Gamma distribution (paper A's case study), with one shape K shared by all prompts.",
          "S", "q(H) = P(T <= H) of the censored Gamma(K, p_x) fit matches the empirical q(H) for H <= H_max",
          f"primary metric: max over H of |q_emp(H) - q_gamma(H)| (pooled over prompts); supported if <= {TOL}, "
          f"not supported if it exceeds {TOL} by more than 2 prompt-clustered standard errors, else inconclusive"),
    Claim("A.llm-sigma-peak",
          "On a real model, the normalised spread sigma(R)/H of the graded reward R = (H - T + 1) 1{T <= H} "
          "under the base policy peaks at a relative budget xi = H / E[T] of order one (balanced regime).",
          "R", "argmax over H of sigma(R)/H lies at xi in the balanced range [0.5, 5] (about 1.1-1.4 for Gamma T)",
          "primary metric: xi* = H*/E[T]_pooled, H* the argmax of the prompt-averaged sigma_x(H)/H over "
          "H <= H_max; 95% bootstrap interval over prompts; judged against [0.5, 5]; a peak at the window "
          "edge H_max is inconclusive"),
)


def _graded_sigma(times, hs):
    """Prompt-averaged population std of R_H = (H - T + 1) 1{T <= H}, divided by H -> (len(hs),)."""
    out = np.empty((times.shape[0], len(hs)))
    for j, h in enumerate(hs):
        r = np.where(times <= h, h - times + 1.0, 0.0)  # (N, G)
        out[:, j] = r.std(axis=1) / h
    return out  # (N, H)


def _gamma_sigma(k, rates, hs, grid=4000):
    """sigma(R)/H averaged over prompts for T ~ Gamma(k, rate_x) (prompts with rate 0 give 0)."""
    out = np.zeros(len(hs))
    for rate in rates:
        if rate <= 0:
            continue
        for j, h in enumerate(hs):
            t = np.linspace(0.0, h, grid)
            f = np.exp(special.xlogy(k - 1, t) + k * np.log(rate) - rate * t - special.gammaln(k))
            f[0] = 0.0 if k > 1 else f[0]
            r = h - t + 1.0
            w = np.gradient(t)
            m1, m2 = np.sum(r * f * w), np.sum(r * r * f * w)
            out[j] += np.sqrt(max(m2 - m1 * m1, 0.0)) / h
    return out / len(rates)


def compute(ctx) -> dict:
    res = load(ctx, FILE)
    if res is None:
        return {"missing": True, "file": FILE}
    s = res["summary"]
    times = times_array(s["per_prompt"]["times"])  # (N, G)
    h_max = int(s["h_max"])
    hs = np.arange(1, h_max + 1)
    q = np.array(s["q_curve"]["q"])
    per_prompt_q = np.array([[np.mean(row <= h) for h in hs] for row in times])  # (N, H)
    se_q = per_prompt_q.std(axis=0, ddof=1) / np.sqrt(times.shape[0])
    k = float(s["gamma_fit"]["k"])
    mean_g = np.array([np.inf if m in (None, "inf") else float(m) for m in s["per_prompt"]["mean_t_gamma"]])
    rates = np.where(np.isfinite(mean_g), k / np.where(np.isfinite(mean_g), mean_g, 1.0), 0.0)
    sig = _graded_sigma(times, hs)  # (N, H)
    pooled = float(s["pooled_mean_t"]) if s["pooled_mean_t"] not in (None, "inf") else float("inf")
    xi_of_h = hs / pooled
    argmax = lambda a: float(xi_of_h[int(np.argmax(a.mean(axis=0)))])  # noqa: E731
    lo, hi = bootstrap_ci(sig, argmax, n_boot=1000, seed=ctx.seed_for("sigma-peak"))
    return {"missing": False, "provenance": provenance(res), "settings": res["settings"],
            "H": hs, "q": q, "q_se": se_q, "q_gamma": s["q_curve"]["q_gamma_fit"], "q_exp": s["q_curve"]["q_exp_fit"],
            "k": k, "pooled_mean_t": pooled, "xi_of_H": xi_of_h, "sigma_over_H": sig.mean(axis=0),
            "sigma_gamma": _gamma_sigma(k, rates, hs), "xi_star": argmax(sig), "xi_star_ci": [lo, hi],
            "h_star": int(hs[int(np.argmax(sig.mean(axis=0)))]), "xi_per_prompt": s["per_prompt"]["xi"],
            "regime_counts": s["regime_counts"], "num_prompts": int(times.shape[0]), "group": int(times.shape[1]),
            "successes": int(s["successes"]), "tokens_per_second": res["sampling"].get("tokens_per_second")}


def evaluate(data) -> list:
    if data.get("missing"):
        note = f"no result file {data['file']} in results/llm (run `rlvr-lab llm xi`, see module docstring)"
        return [Verdict(c, INCONCLUSIVE, {}, note=note) for c in CLAIMS]
    n = {"prompts": data["num_prompts"], "rollouts_per_prompt": data["group"],
         "rollouts": data["num_prompts"] * data["group"], "successes": data["successes"]}
    dev = np.abs(np.array(data["q"]) - np.array(data["q_gamma"]))
    j = int(np.argmax(dev))
    se = float(data["q_se"][j])
    v1 = SUPPORTED if dev[j] <= TOL else NOT_SUPPORTED if dev[j] - 2 * se > TOL else INCONCLUSIVE
    fit = Verdict(CLAIMS[0], v1, {"max_abs_dev": float(dev[j]), "at_H": j + 1, "K_hat": data["k"]},
                  {"se_at_H": se}, n, note=f"SmolLM2-135M, 2-digit sums; {n['rollouts']} rollouts only")
    lo, hi = data["xi_star_ci"]
    v2 = judge_interval(lo, hi, 0.5, 5.0)
    note = f"H* = {data['h_star']} of H_max = {len(data['H'])}; E[T]_pooled = {data['pooled_mean_t']:.1f} tokens"
    if data["h_star"] == len(data["H"]):
        v2, note = INCONCLUSIVE, note + "; the peak sits at the window edge"
    peak = Verdict(CLAIMS[1], v2, {"xi_star": data["xi_star"]}, {"xi_star_ci95": [lo, hi]}, n, note=note)
    return [fit, peak]


def draw(data):
    import matplotlib.pyplot as plt

    if data.get("missing"):
        return placeholder("llm_budget_xi", "result file missing: run `rlvr-lab llm xi` (see module docstring)")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    h = np.array(data["H"])
    q, se = np.array(data["q"]), np.array(data["q_se"])
    ax = axes[0]
    ax.fill_between(h, q - 2 * se, q + 2 * se, alpha=0.25, label="measured ± 2 se")
    ax.plot(h, q, label="measured q(H)")
    ax.plot(h, data["q_gamma"], "--", label=f"censored Gamma fit (K = {data['k']:.2f})")
    ax.plot(h, data["q_exp"], ":", label="censored exponential fit")
    ax.set(xlabel="horizon H (tokens)", ylabel="q(H) = P(T <= H)", title="success within H")
    ax.legend(fontsize=8)
    ax = axes[1]
    xi = np.array(data["xi_of_H"])
    ax.plot(xi, data["sigma_over_H"], label="measured")
    ax.plot(xi, data["sigma_gamma"], "--", label="Gamma fit (predicted)")
    ax.axvspan(*data["xi_star_ci"], alpha=0.2, color="C2", label="95% CI of the peak")
    ax.axvspan(1.5, 2.0, alpha=0.15, color="C3", label="paper A's best xi [1.5, 2]")
    ax.set(xlabel="xi = H / E[T] (pooled)", ylabel="sigma(R) / H", title="graded-reward spread")
    ax.legend(fontsize=8)
    ax = axes[2]
    xs = np.array([0.0 if v in (None, "inf") else float(v) for v in data["xi_per_prompt"]])
    ax.hist(np.log10(np.maximum(xs, 1e-2)), bins=20)
    for edge in (0.5, 5.0):
        ax.axvline(np.log10(edge), color="k", ls=":")
    ax.set(xlabel="log10 xi per prompt at H_max (no success -> -2)", ylabel="prompts",
           title=f"regimes: {data['regime_counts']}")
    p = data["provenance"]
    fig.suptitle(f"SmolLM2-135M-Instruct, {data['num_prompts']} prompts x {data['group']} rollouts "
                 f"({p['hardware']}); {data['tokens_per_second']} tokens/s", fontsize=9)
    fig.tight_layout()
    return fig


FIGURE = Figure(name="llm_budget_xi", title="Paper A on a real model: T, q(H) and the reward spread vs xi",
                claims=CLAIMS, compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct on 2-digit sums: censored E[T], Gamma fit, sigma(R)/H vs xi.")

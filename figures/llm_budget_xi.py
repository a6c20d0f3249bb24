"""Paper A on SmolLM2-135M-Instruct: q(H), the Gamma model of T, and where the reward spread peaks.

Reproduces, on a real model, the measurements paper A makes on its LLMs: sample G rollouts per
prompt at a long horizon, find the time to first correct answer T in each, estimate E[T] with
censoring, and state xi = H / E[T]. Reads ``results/llm/xi_arithmetic.json`` (2-digit sums, the
primary data set) and ``results/llm/xi_arithmetic_1digit.json`` (1-digit sums, added after the
2-digit run had only 6% successes), written by

    rlvr-lab llm xi --model smollm2-135m --task arithmetic --task-opt digits=2 --prompts 40 \\
        --group 6 --horizon 64 --batch-size 60 --seed 0 --out results/llm/xi_arithmetic.json
    rlvr-lab llm xi --model smollm2-135m --task arithmetic --task-opt digits=1 --prompts 24 \\
        --group 6 --horizon 48 --batch-size 72 --seed 1 --out results/llm/xi_arithmetic_1digit.json

Each claim is judged per data set and combined by a rule fixed before the 1-digit run: not
supported if any data set says so, supported if one does and none contradicts, else inconclusive.

(no torch here: the figure reads saved JSON). Run with ``rlvr-lab reproduce --only llm_budget_xi``.

Departures from paper A: a 135M model on 2-digit sums instead of 3-4B models on GSM8K/MATH; a
few dozen prompts (sample sizes are in the verdicts); the graded reward R = (H - T + 1) 1{T <= H}
[S] is evaluated at every H <= H_max from the same rollouts (exact by causal sampling). The
learning-efficiency-vs-xi claim (training runs at several H on the 1-digit task) is in
``figures/llm_budget_efficiency.py``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from figures.base import Figure, Layout
from figures.llm_inputs import placeholder, provenance, times_array
from theory.claims import INCONCLUSIVE, Claim, Verdict, combine, judge, judge_interval
from theory.stats import bootstrap_ci

FILES = ("xi_arithmetic.json", "xi_arithmetic_1digit.json")  # 2-digit (primary), 1-digit sums
TOL = 0.05  # declared before looking: |q_emp - q_gamma| tolerance at every H
MIN_Q = 0.2  # the absolute tolerance says little when q(H_max) is itself small (added after the first run)

CLAIMS = (
    Claim("A.llm-gamma-fit",
          "On a real model, the time to first correct solution T under the base policy is well "
          "described by a Gamma distribution (paper A's case study), with one shape K shared by all prompts.",
          "S", "q(H) = P(T <= H) of the censored Gamma(K, p_x) fit matches the empirical q(H) for H <= H_max",
          f"primary metric: max over H of |q_emp(H) - q_gamma(H)| (pooled over prompts); supported if <= {TOL}, "
          f"not supported if it exceeds {TOL} by more than 2 prompt-clustered standard errors, else inconclusive; "
          f"inconclusive whenever q(H_max) < {MIN_Q}, where an absolute tolerance of {TOL} cannot tell shapes apart"),
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
            mass = np.diff(special.gammainc(k, rate * t))  # P(T in each cell): fine for k < 1 too
            r = h - 0.5 * (t[1:] + t[:-1]) + 1.0  # reward at the cell's midpoint
            m1, m2 = np.sum(r * mass), np.sum(r * r * mass)
            out[j] += np.sqrt(max(m2 - m1 * m1, 0.0)) / h
    return out / len(rates)


def _dataset(ctx, res) -> dict:
    s = res["summary"]
    times = times_array(s["per_prompt"]["times"])  # (N, G)
    h_max = int(s["h_max"])
    hs = np.arange(1, h_max + 1)
    per_prompt_q = np.array([[np.mean(row <= h) for h in hs] for row in times])  # (N, H)
    se_q = per_prompt_q.std(axis=0, ddof=1) / np.sqrt(times.shape[0])
    k = float(s["gamma_fit"]["k"])
    mean_g = np.array([np.inf if m in (None, "inf") else float(m) for m in s["per_prompt"]["mean_t_gamma"]])
    rates = np.where(np.isfinite(mean_g), k / np.where(np.isfinite(mean_g), mean_g, 1.0), 0.0)
    sig = _graded_sigma(times, hs)  # (N, H)
    pooled = float(s["pooled_mean_t"]) if s["pooled_mean_t"] not in (None, "inf") else float("inf")
    xi_of_h = hs / pooled
    argmax = lambda a: float(xi_of_h[int(np.argmax(a.mean(axis=0)))])  # noqa: E731
    lo, hi = bootstrap_ci(sig, argmax, n_boot=1000, seed=ctx.seed_for("sigma-peak", res["command"]))
    return {"provenance": provenance(res), "task": res["settings"]["task"],
            "H": hs, "q": s["q_curve"]["q"], "q_se": se_q, "q_gamma": s["q_curve"]["q_gamma_fit"],
            "q_exp": s["q_curve"]["q_exp_fit"], "k": k, "pooled_mean_t": pooled, "xi_of_H": xi_of_h,
            "sigma_over_H": sig.mean(axis=0), "sigma_gamma": _gamma_sigma(k, rates, hs), "xi_star": argmax(sig),
            "xi_star_ci": [lo, hi], "h_star": int(hs[int(np.argmax(sig.mean(axis=0)))]),
            "xi_per_prompt": s["per_prompt"]["xi"], "regime_counts": s["regime_counts"],
            "num_prompts": int(times.shape[0]), "group": int(times.shape[1]), "successes": int(s["successes"]),
            "tokens_per_second": res["sampling"].get("tokens_per_second")}


def compute(ctx, cfg) -> dict:
    found = {name: ctx.input(name) for name in FILES}
    datasets = {name: _dataset(ctx, res) for name, res in found.items() if res is not None}
    return {"missing": not datasets, "files": list(FILES), "datasets": datasets}


def _label(d) -> str:
    t = d["task"]
    return f"{t.get('digits', '?')}-digit {t.get('task', '')}"


def _judge(d) -> tuple[Verdict, Verdict]:
    n = {"prompts": d["num_prompts"], "rollouts_per_prompt": d["group"],
         "rollouts": d["num_prompts"] * d["group"], "successes": d["successes"]}
    dev = np.abs(np.array(d["q"]) - np.array(d["q_gamma"]))
    j = int(np.argmax(dev))
    se = float(d["q_se"][j])
    v1 = judge(supported=dev[j] <= TOL, not_supported=dev[j] - 2 * se > TOL)
    q_end = float(d["q"][-1])
    note = f"{_label(d)}: {n['rollouts']} rollouts"
    if q_end < MIN_Q:
        v1 = INCONCLUSIVE
        note += f"; q(H_max) = {q_end:.3f} < {MIN_Q}: too few successes for the tolerance to discriminate"
    rel = float(dev[j] / max(d["q"][j], 1e-12))
    fit = Verdict(CLAIMS[0], v1, {"max_abs_dev": float(dev[j]), "at_H": j + 1, "relative_dev_at_H": rel,
                                  "q_at_H_max": q_end, "K_hat": d["k"]}, {"se_at_H": se}, n, note=note)
    lo, hi = d["xi_star_ci"]
    v2 = judge_interval(lo, hi, 0.5, 5.0)
    note = (f"{_label(d)}: H* = {d['h_star']} of H_max = {len(d['H'])}; "
            f"E[T]_pooled = {d['pooled_mean_t']:.1f} tokens")
    if d["h_star"] == len(d["H"]):
        v2, note = INCONCLUSIVE, note + "; the peak sits at the window edge"
    peak = Verdict(CLAIMS[1], v2, {"xi_star": d["xi_star"]}, {"xi_star_ci95": [lo, hi]}, n, note=note)
    return fit, peak


def _combine(claim, verdicts) -> Verdict:
    """Declared rule: not supported if any data set says so; supported if one does and none
    contradicts; inconclusive otherwise. Every data set's numbers are kept."""
    verdict = combine(verdicts, rule="any")
    label = lambda v: v.note.split(":")[0]  # noqa: E731
    return Verdict(claim, verdict, {label(v): {**v.measured, "verdict": v.verdict} for v in verdicts},
                   {label(v): v.uncertainty for v in verdicts}, {label(v): v.sample_size for v in verdicts},
                   note=" | ".join(v.note for v in verdicts))


def evaluate(data) -> list:
    if data.get("missing"):
        note = f"no result files {data['files']} in results/llm (run `rlvr-lab llm xi`, see module docstring)"
        return [Verdict(c, INCONCLUSIVE, {}, note=note) for c in CLAIMS]
    per = [_judge(d) for d in data["datasets"].values()]
    return [_combine(CLAIMS[0], [p[0] for p in per]), _combine(CLAIMS[1], [p[1] for p in per])]


def draw(data, axes):
    if data.get("missing"):
        return placeholder(axes, "llm_budget_xi", "result files missing: run `rlvr-lab llm xi` (see module docstring)")
    for c, d in enumerate(data["datasets"].values()):
        col, lab = f"C{c}", _label(d)
        h, q, se = np.array(d["H"]), np.array(d["q"]), np.array(d["q_se"])
        ax = axes[0]
        ax.fill_between(h, q - 2 * se, q + 2 * se, alpha=0.2, color=col)
        ax.plot(h, q, color=col, label=f"{lab}: measured ± 2 se")
        ax.plot(h, d["q_gamma"], "--", color=col, label=f"{lab}: censored Gamma fit (K = {d['k']:.2f})")
        ax.plot(h, d["q_exp"], ":", color=col, label=f"{lab}: censored exponential fit")
        ax = axes[1]
        xi = np.array(d["xi_of_H"])
        ax.plot(xi, d["sigma_over_H"], color=col, label=f"{lab}: measured")
        ax.plot(xi, d["sigma_gamma"], "--", color=col, label=f"{lab}: Gamma fit (predicted)")
        ax.axvline(d["xi_star"], color=col, lw=0.8)
        xs = np.array([0.0 if v in (None, "inf") else float(v) for v in d["xi_per_prompt"]])
        axes[2].hist(np.log10(np.maximum(xs, 1e-2)), bins=20, alpha=0.6, color=col,
                     label=f"{lab}: {d['regime_counts']}")
    axes[0].set(xlabel="horizon H (tokens)", ylabel="q(H) = P(T <= H)", title="success within H")
    axes[1].axvspan(1.5, 2.0, alpha=0.15, color="C3", label="paper A's best xi [1.5, 2]")
    axes[1].set_xscale("log")
    axes[1].set(xlabel="xi = H / E[T] (pooled, log scale)", ylabel="sigma(R) / H",
                title="graded-reward spread (vertical line: peak)")
    for edge in (0.5, 5.0):
        axes[2].axvline(np.log10(edge), color="k", ls=":")
    axes[2].set(xlabel="log10 xi per prompt at H_max (no success -> -2)", ylabel="prompts", title="regimes")
    for ax in axes:
        ax.legend(fontsize=7)
    parts = [f"{_label(d)}: {d['num_prompts']} prompts x {d['group']} rollouts, {d['tokens_per_second']} tok/s"
             for d in data["datasets"].values()]
    hw = next(iter(data["datasets"].values()))["provenance"]["hardware"]
    label = next(iter(data["datasets"].values()))["provenance"].get("model_label", "model")
    axes[0].figure.suptitle(f"{label} ({hw}); " + "; ".join(parts), fontsize=9)


FIGURE = Figure(name="llm_budget_xi", title="Paper A on a real model: T, q(H) and the reward spread vs xi",
                claims=CLAIMS, inputs=FILES, layout=Layout(1, 3, (15, 4.2)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct on 1- and 2-digit sums: censored E[T], Gamma fit, sigma(R)/H vs xi.")

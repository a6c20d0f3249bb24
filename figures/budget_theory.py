"""Paper A, theory panel: q(xi), sigma/H, informative-group probability and c(eps) against xi.

Reproduces the diagram the notes infer for paper A (A.5 item 4 [R]; the paper's own figure was not
available): the success probability q(xi), the graded reward's normalised spread sigma/H, the
probability that a group of G rollouts is informative (graded: >= 1 success; binary: mixed) and
the anti-concentration coefficient c(eps), on a log xi axis with the regime bands of
theory.budget.regime. Closed forms only (theory.budget). One claim is judged: the notes' numerical
statement (A.1 [R]) that sigma/H is unimodal with its peak at xi = Theta(1), about 1.12 for K = 1
and 1.33-1.39 for K = 2..8; the grid is log-spaced, so the argmax is known to one grid step.

Run: ``rlvr-lab reproduce --only budget_theory``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figures.base import Figure, Layout
from theory import budget as B
from theory.claims import NOT_SUPPORTED, SUPPORTED, Claim, Verdict

SPREAD_PEAK = Claim(
    id="A.spread-peak",
    statement="The graded reward's normalised spread sigma/H is unimodal in xi with its maximum at "
              "xi = Theta(1): about 1.12 for exponential T (K = 1), 1.33-1.39 for Gamma K = 2..8.",
    provenance="R",
    predicted="argmax sigma/H = 1.12 (K = 1) and in [1.33, 1.39] (K = 2, 4); one local maximum",
    measurement="closed-form sigma/H (theory.budget.graded_reward_moments) on 300 log-spaced xi in "
                "[0.02, 50]; supported iff the discrete curve has one local maximum and its argmax is "
                "within one grid step of the predicted value or range for every K",
)


@dataclass(frozen=True)
class Config:
    xi_min: float = 0.02
    xi_max: float = 50.0
    n_points: int = 300
    Ks: tuple = (1, 2, 4)
    Gs: tuple = (2, 8, 32)
    eps: float = 0.1


def compute(ctx, cfg: Config) -> dict:
    xi = np.exp(np.linspace(np.log(cfg.xi_min), np.log(cfg.xi_max), cfg.n_points))
    out = {"xi": xi, "Ks": list(cfg.Ks), "Gs": list(cfg.Gs), "eps": cfg.eps, "q": {}, "sigma": {}, "c": {}}
    for K in cfg.Ks:
        out["q"][str(K)] = B.success_probability(xi, K)
        out["sigma"][str(K)] = np.sqrt(B.graded_reward_moments(xi, K)[1])
        out["c"][str(K)] = B.anti_concentration(xi, cfg.eps, K)
    q1 = B.success_probability(xi, 1)
    out["informative"] = {f"{r}-{G}": B.informative_probability(q1, G, r) for r in ("graded", "binary") for G in cfg.Gs}
    out["thresholds"] = [B.DEFICIENT_BELOW, B.AMPLE_ABOVE]
    return out


def evaluate(data) -> list:
    xi = np.asarray(data["xi"])
    step = float(np.log(xi[1] / xi[0]))  # one grid step in log xi
    predicted = {1: (1.12, 1.12), 2: (1.33, 1.39), 4: (1.33, 1.39)}
    argmax, peaks, ok = {}, {}, True
    for K in data["Ks"]:
        s = np.asarray(data["sigma"][str(K)])
        d = np.sign(np.diff(s))
        peaks[K] = int(np.sum((d[:-1] > 0) & (d[1:] < 0)))
        argmax[K] = float(xi[int(np.argmax(s))])
        lo, hi = predicted.get(K, (1.33, 1.39))
        ok &= peaks[K] == 1 and np.log(lo) - step <= np.log(argmax[K]) <= np.log(hi) + step
    return [Verdict(SPREAD_PEAK, SUPPORTED if ok else NOT_SUPPORTED,
                    measured={"argmax_xi": argmax, "local_maxima": peaks},
                    uncertainty={"grid_step_factor": float(np.exp(step))},
                    sample_size={"grid_points": len(xi)})]


def draw(data, axes):
    xi = np.asarray(data["xi"])
    lo, hi = data["thresholds"]
    for ax in axes:
        ax.axvspan(xi[0], lo, color="tab:red", alpha=0.08)
        ax.axvspan(hi, xi[-1], color="tab:blue", alpha=0.08)
        ax.set_xscale("log")
        ax.set_xlabel(r"relative budget $\xi = H/E[T]$")
    for K in data["Ks"]:
        axes[0].plot(xi, data["q"][str(K)], label=f"K={K}")
        axes[1].plot(xi, data["sigma"][str(K)], label=f"K={K}")
        axes[3].plot(xi, data["c"][str(K)], label=f"K={K}")
    for key, val in data["informative"].items():
        r, G = key.split("-")
        axes[2].plot(xi, val, ls="-" if r == "graded" else "--", label=f"{r}, G={G}")
    titles = [r"$q(\xi) = P(T \leq H)$", r"graded reward $\sigma/H$", "informative group (K=1)",
              rf"anti-concentration $c(\epsilon={data['eps']})$"]
    for ax, t in zip(axes, titles):
        ax.set_title(t)
        ax.legend(fontsize=7)
    axes[0].text(xi[1], 0.9, "deficient", color="tab:red", fontsize=8)
    axes[0].text(hi * 1.1, 0.1, "ample", color="tab:blue", fontsize=8)


FIGURE = Figure(name="budget_theory", title="Paper A: closed forms against the relative budget",
                claims=(SPREAD_PEAK,), config=Config(), layout=Layout(1, 4, (16, 3.6)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="q, sigma/H, informative-group probability and c(eps) against xi with regime bands.")

"""Every verdict rule of the paper-A and paper-B figures reaches each verdict it can return, on
synthetic data with a known answer (the checks can fail); draw() runs headless on the same data.
The paper-E and llm_* figures have theirs in test_composition_figures.py and test_llm_figures.py."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import figures.budget_efficiency as efficiency
import figures.budget_growth as growth
import figures.budget_regimes as regimes
import figures.budget_samples as samples
import figures.budget_theory as budget_theory
import figures.weighting_effective_weights as effective
import figures.weighting_finite_group as finite_group
import figures.weighting_from_scratch as from_scratch
import figures.weighting_surrogates as surrogates
import figures.weighting_time_to_target as ttt
import figures.weighting_zero_signal as zero_signal
from figures.base import RunContext
from figures.runner import canonical, draw
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

S, N = SUPPORTED, NOT_SUPPORTED


def verdicts(mod, data, *, drawn=True):
    """The figure's verdicts on ``data`` as the runner hands it over (canonical JSON)."""
    data = canonical(data)
    out = mod.FIGURE.evaluate(data)
    assert [v.claim.id for v in out] == [c.id for c in mod.FIGURE.claims]
    if drawn:
        plt.close(draw(mod.FIGURE, data))
    return [v.verdict for v in out]


def real_data(mod):
    """The figure's own compute on the fast profile (only for the closed-form figures: instant)."""
    return mod.FIGURE.compute(RunContext(seed=0), mod.FIGURE.config)


# --- paper A ----------------------------------------------------------------------------------

def _efficiency(peaks, noise=0.01):
    """Seed curves peaking (in log xi) at ``peaks[s]``, for every metric of the primary sweep."""
    xi = np.exp(np.linspace(np.log(0.1), np.log(10.0), 17))
    rng = np.random.default_rng(0)
    y = np.array([np.exp(-(np.log(xi) - np.log(p)) ** 2 / 0.5) + noise * rng.standard_normal(xi.size)
                  for p in peaks])
    run = {"xi0": xi, **{m: y for m in efficiency.METRICS}}
    return {"xi_grid": xi, "seeds": len(peaks), "runs": {"horizon/grpo/binary": run}}


def test_budget_efficiency_verdicts():
    assert verdicts(efficiency, _efficiency([1.75] * 8)) == [S]
    assert verdicts(efficiency, _efficiency([0.5] * 8)) == [N]
    assert verdicts(efficiency, _efficiency([1.1, 2.6] * 4, noise=0.05)) == [INCONCLUSIVE]


def _growth(factor, noise):
    rng = np.random.default_rng(1)
    i = np.arange(31)
    ideal = {str(K): [1 + factor * i / (2 * K) + noise * rng.standard_normal(31) for _ in range(4)] for K in (1, 2, 4)}
    exact = {str(K): 1 + i / (2 * K) for K in (1, 2, 4)}
    return {"Ks": [1, 2, 4], "ideal": ideal, "exact": exact, "pg": {k: v[:2] for k, v in ideal.items()}}


def test_budget_growth_verdicts():
    assert verdicts(growth, _growth(1.0, 0.01)) == [S]
    assert verdicts(growth, _growth(2.0, 0.01)) == [N]
    assert verdicts(growth, _growth(1.25, 0.3)) == [INCONCLUSIVE]  # the interval straddles the band's edge


def _regimes(inf_power=1.0, gain_at_end=0.01, noise=0.02, drop=False, n=8):
    xi = np.array(regimes.GRID)
    rng = np.random.default_rng(2)
    scale = 1.0 if inf_power > 0 else 1e-3  # a falling fraction must stay below 1 on the deficient end
    inf = np.clip(np.minimum(scale * xi ** inf_power, 1.0) * np.exp(noise * rng.standard_normal((n, xi.size))), 1e-6, 1)
    peak = np.exp(-(np.log(xi) - np.log(1.5)) ** 2 / 0.8)
    gain = peak + (gain_at_end - peak[-1]) * (xi / xi[-1]) ** 4  # the peak shape with a chosen last value
    gain = np.clip(gain, 1e-4, None) + noise * rng.standard_normal((n, xi.size)) * gain
    acc0 = np.full((n, xi.size), 0.5)
    acc_end = acc0 + 0.1 - (0.2 if drop else 0.0) * (xi >= 5)
    run = {"xi0": xi, "informative": inf, "per_iteration": gain, "acc0": acc0, "acc_end": acc_end}
    return {"runs": {"grpo/binary": run, "rloo/graded": run}, "seeds": n}


def test_budget_regimes_verdicts():
    assert verdicts(regimes, _regimes()) == [S, S]
    assert verdicts(regimes, _regimes(inf_power=-1.0, gain_at_end=1.2, drop=True)) == [N, N]
    assert verdicts(regimes, _regimes(inf_power=0.5, gain_at_end=0.5, noise=0.2)) == [INCONCLUSIVE, INCONCLUSIVE]


def _samples(ample_power, noise=0.05):
    xi = np.exp(np.linspace(np.log(0.05), np.log(20.0), 14))
    rng = np.random.default_rng(3)
    runs = [{"xi": xi, "n90": (1 / xi + xi ** ample_power) * np.exp(noise * rng.standard_normal(xi.size))}
            for _ in range(3)]
    return {"xi_grid": xi, "runs": {"rloo/graded": runs, "grpo/binary": runs}, "bound": 10 * (1 / xi + xi)}


def test_budget_samples_verdicts():
    assert verdicts(samples, _samples(1.0)) == [S]
    assert verdicts(samples, _samples(0.0)) == [N]  # no growth in the ample regime
    assert verdicts(samples, _samples(0.6, noise=0.25)) == [INCONCLUSIVE]


def test_budget_theory_verdicts():
    data = canonical(real_data(budget_theory))
    assert verdicts(budget_theory, data) == [S]
    xi = np.asarray(data["xi"])
    data["sigma"]["2"] = list(np.exp(-(np.log(xi) - np.log(3.0)) ** 2))  # one peak, at xi = 3
    assert verdicts(budget_theory, data) == [N]
    data["sigma"]["2"] = list(np.sin(np.log(xi)) ** 2)  # several local maxima
    assert verdicts(budget_theory, data) == [N]


# --- paper B ----------------------------------------------------------------------------------

def test_effective_weights_verdicts():
    data = canonical(real_data(effective))
    assert verdicts(effective, data) == [S, S]
    data["population"]["grpo"][0] = 0.1  # a symmetric method with weight at rho = 0
    data["all_fail_adv"]["sqrt_r"] = [0.0] * len(data["all_fail_adv"]["sqrt_r"])  # does not push down
    assert verdicts(effective, data) == [N, INCONCLUSIVE]
    for m in effective.ASYMMETRIC:
        data["population"][m][0] = 0.0
    assert verdicts(effective, data)[1] == N


def _finite_group(rel_gap, se, missed=0):
    cfg = finite_group.FAST
    pts = {}
    for m in cfg.methods:
        for g in cfg.group_sizes:
            gap = rel_gap if g == max(cfg.group_sizes) else 0.5 / g
            pts[f"{m}|{g}"] = {"mean": 100 * (1 + gap), "se": se, "missed": missed if g == max(cfg.group_sizes) else 0,
                               "responses": 100.0 * g, "population": 100.0, "mean_drift": 100 * (1 + gap),
                               "mean_drift_responses": 100.0 * g}
    return {"config": cfg.__dict__, "points": pts}


def test_finite_group_verdicts():
    assert verdicts(finite_group, _finite_group(0.005, 0.1)) == [S]
    assert verdicts(finite_group, _finite_group(0.2, 0.1)) == [N]
    assert verdicts(finite_group, _finite_group(0.02, 1.0)) == [INCONCLUSIVE]
    assert verdicts(finite_group, _finite_group(0.0, 0.1, missed=3), drawn=False) == [INCONCLUSIVE]


def _from_scratch(gain_scratch, gain_sft, spread):
    cfg = from_scratch.FAST
    rng = np.random.default_rng(4)
    runs = {}
    for start, _, _ in cfg.starts:
        gain = gain_scratch if start == "from_scratch" else gain_sft
        for update, _, _ in cfg.updates:
            for m in cfg.methods:
                base = 100.0 * (1 - gain) if m in from_scratch.ASYMMETRIC else 100.0
                boot = base * (1 + spread * rng.standard_normal(cfg.n_boot))
                curve = np.linspace(0.0, 0.9, 50)
                runs[f"{start}|{update}|{m}"] = {
                    "boot_target": boot, "at_level": {str(lv): base * lv / 0.8 for lv in cfg.levels},
                    "accuracy": curve, "responses": np.linspace(16, 2 * base, 50), "zero_signal": curve[::-1]}
    ref = {m: {"population_effective@0.01": 10.0 + i, "population_regular@0.01": 5.0, "G16_responses@0.01": 50.0 + i}
           for i, m in enumerate(("grpo", "rloo", "linear_r", "sqrt_r", "uniform_r"))}
    return {"config": cfg.__dict__, "runs": runs, "reference": ref}


def test_from_scratch_verdicts():
    assert verdicts(from_scratch, _from_scratch(0.5, 0.0, 0.01)) == [S]
    assert verdicts(from_scratch, _from_scratch(0.0, 0.0, 0.01)) == [N]
    assert verdicts(from_scratch, _from_scratch(0.5, 0.3, 0.01)) == [N]  # the post-SFT gap does not vanish
    assert verdicts(from_scratch, _from_scratch(0.2, 0.0, 0.05)) == [INCONCLUSIVE]


def test_surrogates_verdicts():
    data = canonical(real_data(surrogates))
    assert verdicts(surrogates, data) == [S]
    data["optimal"]["1,0"] = list(np.asarray(data["optimal"]["1,0"]) * np.linspace(1, 1.1, len(data["rho"])))
    assert verdicts(surrogates, data) == [N]
    data = canonical(real_data(surrogates))
    data["asymmetry@0.1"]["1,0.3"] = 0.9  # b > 0 but no upweighting of low rho
    assert verdicts(surrogates, data) == [N]


def _ttt(best_gap=0.01, rival_lead=None, rival_se=1.0):
    """Simulated points: the claimed optimum ``best_gap`` above the bound, every other weighting
    20% slower, except sqrt_r/grpo's rival ``plateau_r`` ``rival_lead`` faster when given."""
    cfg = ttt.FAST
    fine = np.geomspace(0.005, 0.8, 60)
    bound = {c: [ttt.lower_bound(r, cfg.rho1, c) for r in fine] for c in ("regular", "effective")}
    theory = {m: {c: [ttt.time_to_target(m, r, cfg.rho1, c) for r in fine] for c in ("regular", "effective")}
              for m in cfg.methods}
    points = {}
    for m in cfg.methods:
        for r0 in cfg.rho0:
            point = {"rho0": r0, "step": 0.01}
            for clock, best in (("regular", "grpo"), ("effective", "sqrt_r")):
                b = 100.0
                mean = b * (1 + best_gap) if m == best else b * 1.2
                if m == "plateau_r" and rival_lead is not None:
                    mean = b * (1 + best_gap) - rival_lead
                point[clock] = {"mean": mean, "se": rival_se, "missed": 0, "theory": mean, "bound": b}
            points[f"{m}|{r0}"] = point
    return {"config": cfg.__dict__, "fine": fine, "theory": theory, "bound": bound, "points": points}


def test_time_to_target_verdicts():
    assert verdicts(ttt, _ttt()) == [S, S]
    assert verdicts(ttt, _ttt(best_gap=0.2)) == [N, N]  # the optimum misses the bound by 20%
    assert verdicts(ttt, _ttt(rival_lead=10.0)) == [N, N]  # another weighting is clearly faster
    assert verdicts(ttt, _ttt(rival_lead=0.5)) == [INCONCLUSIVE, INCONCLUSIVE]  # faster within 2 SE
    assert verdicts(ttt, _ttt(best_gap=0.05, rival_se=2.0)) == [INCONCLUSIVE, INCONCLUSIVE]  # straddles 5%


def _zero_signal(sym_moved=0.0, asym_mean=1e-3):
    rows = {}
    for update in ("kl", "pg"):
        for m in zero_signal.WEIGHTINGS:
            asym = m in zero_signal.ASYMMETRIC
            rows[f"{update}|{m}"] = {"n_fail": 100, "moved": 1.0 if asym else sym_moved,
                                     "mean": asym_mean if asym else 0.0, "se": 1e-5 if asym else 0.0,
                                     "predicted_kl": 1e-3, "advantage_all_fail": -1.0 if asym else 0.0}
    return {"config": zero_signal.FAST.__dict__, "rows": rows}


def test_zero_signal_verdicts():
    assert verdicts(zero_signal, _zero_signal()) == [S]
    assert verdicts(zero_signal, _zero_signal(sym_moved=0.1)) == [N]
    assert verdicts(zero_signal, _zero_signal(asym_mean=-1e-3)) == [N]  # the move lowers rho


@pytest.mark.parametrize("mod", [efficiency, growth, regimes, samples, budget_theory, effective, finite_group,
                                 from_scratch, surrogates, ttt, zero_signal])
def test_every_figure_here_has_a_config(mod):
    assert mod.FIGURE.config is not None

"""Paper C figures: every verdict each evaluate() can return is reached on synthetic data (the rules
can fail), and draw() runs headless on the same data."""

import matplotlib.pyplot as plt
import numpy as np

import figures.kernel_bandwidth as bandwidth
import figures.kernel_closed_loop as closed_loop
import figures.kernel_consistency as consistency
import figures.kernel_gradient as gradient
import figures.kernel_value_mse as value_mse
from figures.base import config_dict
from figures.kernel_common import H_GRID, PRIMARY
from figures.runner import canonical, draw
from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

R = 8
LABELS = ["oracle", "grpo", "global", PRIMARY]


def _verdicts(mod, data):
    data = canonical(data)  # what the runner hands evaluate/draw
    out = mod.evaluate(data)
    assert [v.claim.id for v in out] == [c.id for c in mod.FIGURE.claims]
    plt.close(draw(mod.FIGURE, data))
    return [v.verdict for v in out]


def _table_unit(kae_over_grpo, global_over_kae, noise, seed, grad=(1.0, 0.93, 0.6)):
    """Synthetic summary of one sweep: grpo MSE 0.05; kae and global by the given ratios."""
    rng = np.random.default_rng(seed)
    grpo = 0.05 * np.exp(noise * rng.standard_normal((R, 3)))
    kae = grpo * kae_over_grpo * np.exp(noise * rng.standard_normal((R, 3)))
    glob = kae * global_over_kae * np.exp(noise * rng.standard_normal((R, 3)))
    bv = np.stack([np.zeros_like(grpo), grpo, glob, kae], axis=2)  # (R, 3, M)
    orc_g, kae_g_over_grpo, kae_g_over_glob = grad
    gg = 0.02 * np.exp(0.01 * rng.standard_normal((R, 3)))
    kg = gg * kae_g_over_grpo
    bg = np.stack([gg * 0.9, gg, kg / kae_g_over_glob * np.exp(0.1 * rng.standard_normal((R, 3))), kg], axis=2)
    steps = np.arange(1, 201)
    return {"labels": LABELS, "steps": steps, "block_value": bv, "block_grad": bg, "block_dev": bg,
            "all_value": bv.mean(axis=1), "all_grad": bg.mean(axis=1), "all_dev": bg.mean(axis=1),
            "curve_value": np.tile(bv.mean(axis=(0, 1)), (200, 1)), "curve_grad": np.tile(bg.mean(axis=(0, 1)), (200, 1))}


def _value_data(kae_over_grpo, global_over_kae, noise=0.01, grad=(1.0, 0.93, 0.6)):
    cfg = value_mse.FAST
    units = {k: _table_unit(kae_over_grpo, global_over_kae, noise, i, grad)
             for i, k in enumerate(value_mse.specs(cfg))}
    for g in cfg.judged:
        units[f"logistic-K2|{g}"] = units[f"logistic|{g}"]
    return {"config": config_dict(cfg), "units": units}


def test_value_mse_verdicts():
    assert _verdicts(value_mse, _value_data(0.33, 30.0)) == [SUPPORTED]
    assert _verdicts(value_mse, _value_data(0.10, 30.0)) == [NOT_SUPPORTED]  # 90% below GRPO: outside 60-73%
    assert _verdicts(value_mse, _value_data(0.33, 5.0)) == [NOT_SUPPORTED]  # only 80% below the global mean
    assert _verdicts(value_mse, _value_data(0.27, 30.0, noise=0.3)) == [INCONCLUSIVE]


def test_gradient_verdicts():
    assert _verdicts(gradient, _value_data(0.33, 30.0, grad=(1, 0.93, 0.5))) == [SUPPORTED]
    assert _verdicts(gradient, _value_data(0.33, 30.0, grad=(1, 0.93, 0.8))) == [NOT_SUPPORTED]  # 20% vs global
    assert _verdicts(gradient, _value_data(0.33, 30.0, grad=(1, 1.05, 0.5))) == [NOT_SUPPORTED]  # above GRPO
    assert _verdicts(gradient, _value_data(0.33, 30.0, grad=(1, 0.93, 0.66))) == [INCONCLUSIVE]  # ~34% +- noise


def _bw_data(curve_tri, curve_exp, noise=0.02):
    rng = np.random.default_rng(0)
    labels = ["oracle", "grpo", "global"] + [f"kae:{k}:{h:g}" for k in ("tri", "exp") for h in H_GRID]
    units = {}
    for g in value_mse.FAST.judged:
        base = np.concatenate([[0.0, 0.05, 0.07], curve_tri, curve_exp])
        units[f"logistic|{g}"] = {"labels": labels,
                                  "all_value": base * np.exp(noise * rng.standard_normal((R, base.size)))}
    return {"config": config_dict(value_mse.FAST), "grid": list(H_GRID), "units": units}


def test_bandwidth_verdicts():
    u = 0.01 * (1 + (np.log(np.array(H_GRID)) - np.log(0.2)) ** 2 / 4)
    assert _verdicts(bandwidth, _bw_data(u, u * 1.05)) == [SUPPORTED]
    mono = 0.01 * np.array(H_GRID) ** -0.3
    assert _verdicts(bandwidth, _bw_data(mono, u)) == [NOT_SUPPORTED]  # argmin at the grid end
    assert _verdicts(bandwidth, _bw_data(u, u * 2.0)) == [NOT_SUPPORTED]  # kernels far apart
    assert _verdicts(bandwidth, _bw_data(u, u * 1.25, noise=0.2)) == [INCONCLUSIVE]


def _cons_data(slope, grpo_slope=0.0, noise=0.01):
    cfg = consistency.FAST
    rng = np.random.default_rng(1)
    units = {}
    for d in cfg.drifts:
        for t in cfg.horizons:
            n = 4.0 * t
            x = np.array([0.0, 0.05 * (n / 200) ** grpo_slope, 0.005 * (n / 200) ** slope, 0.004 * (n / 200) ** slope])
            units[f"{d}|{t}"] = {"labels": ["oracle", "grpo", "kae:tri:0.1", "kae:exp:0.1"], "n_obs": np.full(R, n),
                                 "all_value": x * np.exp(noise * rng.standard_normal((R, 4)))}
    return {"config": config_dict(cfg), "units": units}


def test_consistency_verdicts():
    assert _verdicts(consistency, _cons_data(-2 / 3)) == [SUPPORTED]
    assert _verdicts(consistency, _cons_data(-0.3)) == [NOT_SUPPORTED]
    assert _verdicts(consistency, _cons_data(-2 / 3, grpo_slope=-0.5)) == [NOT_SUPPORTED]
    assert _verdicts(consistency, _cons_data(-0.5667, noise=0.05)) == [INCONCLUSIVE]  # on the edge


def _curve(kind, final, noise, rng, s=120, drop=0.05):
    t = np.arange(s) / s
    if kind == "rise":
        m = 0.4 + (final - 0.4) * (1 - np.exp(-4 * t)) / (1 - np.exp(-4))
    else:  # peak at t = 0.5 then decline to ``final``
        peak = final + drop
        m = np.where(t < 0.5, 0.4 + (peak - 0.4) * t / 0.5, peak - (peak - final) * (t - 0.5) / 0.5)
    return m + noise * rng.standard_normal((R, s))


def _loop_data(kae_final, rf_kind, rf_final, sched_final, noise=0.003, drop=0.05):
    rng = np.random.default_rng(2)
    acc = {"KAE G=1": _curve("rise", kae_final, noise, rng),
           "REINFORCE": _curve(rf_kind, rf_final, noise, rng, drop=drop),
           "REINFORCE + schedule": _curve("rise", sched_final, noise, rng),
           "KAE G=4": _curve("rise", kae_final, noise, rng), "GRPO": _curve("rise", 0.8, noise, rng),
           "GRPO + schedule": _curve("rise", sched_final, noise, rng)}
    return {"config": config_dict(closed_loop.FAST), "accuracy": acc}


def test_closed_loop_verdicts():
    assert _verdicts(closed_loop, _loop_data(0.9, "peak", 0.7, 0.8)) == [SUPPORTED, SUPPORTED]
    assert _verdicts(closed_loop, _loop_data(0.9, "rise", 0.8, 0.95)) == [NOT_SUPPORTED, NOT_SUPPORTED]
    # REINFORCE's decline at the 1-point tolerance; the schedule runs end where KAE ends
    assert _verdicts(closed_loop, _loop_data(0.9, "peak", 0.7, 0.9, drop=0.009)) == [INCONCLUSIVE, INCONCLUSIVE]


def test_gradient_and_bandwidth_share_the_value_sweeps():
    """The three Table-1 figures declare identical units, so one computation serves all three."""
    from figures.kernel_common import unit_key
    shared = {unit_key(kw) for kw in value_mse.specs(value_mse.FAST).values()}
    grad = gradient.specs(value_mse.FAST)
    assert {unit_key(grad[f"logistic|{g}"]) for g in value_mse.FAST.judged} <= shared
    assert len({unit_key(kw) for kw in closed_loop.specs(closed_loop.FAST).values()}) == len(closed_loop.RUNS)

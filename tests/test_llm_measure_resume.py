"""``llm xi|ppl|weights`` write finished chunks as they go and resume with ``resume=True``: an
interrupted measurement (Ctrl-C or kill at any chunk) finishes with exactly the numbers of an
uninterrupted one; a changed configuration, or a partial file without ``resume``, is refused."""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="the real-model tests need the llm extra")
pytest.importorskip("transformers", reason="the real-model tests need the llm extra")

from llm_backend import experiments
from llm_backend.config import ModelConfig, PplConfig, SamplingConfig, TaskConfig, WeightsConfig, XiConfig
from llm_backend.results import write_result

RUN = {"xi": experiments.run_xi, "ppl": experiments.run_ppl, "weights": experiments.run_weights}
CLS = {"xi": XiConfig, "ppl": PplConfig, "weights": WeightsConfig}
# (run-dependent) provenance: times, hardware, the throughput of this process
VOLATILE = ("started_utc", "finished_utc", "wall_seconds", "hardware", "sampling", "git_commit", "command")


def _cfg(kind, out, **kw):
    return CLS[kind](model=ModelConfig(name="tiny"),
                     task=TaskConfig(task="arithmetic", task_options={"digits": 1}, prompts=7, group=3, horizon=8),
                     sampling=SamplingConfig(batch_size=6, seed=4), out=str(out), **kw).validate()


def _numbers(res) -> str:
    return json.dumps({k: v for k, v in res.items() if k not in VOLATILE and k != "config"}, sort_keys=True,
                      default=lambda o: np.asarray(o).tolist())


class Killed(BaseException):
    pass


@pytest.mark.parametrize("kind", ["xi", "ppl", "weights"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed], ids=["ctrl-c", "kill"])
def test_interrupted_measurement_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, kind, exc):
    straight = RUN[kind](_cfg(kind, tmp_path / "a.json"), progress=False)
    real, calls = experiments.group_rollouts, {"n": 0}

    def flaky(*a, **k):  # interrupt while sampling the 3rd chunk (2 prompts per chunk: 4 chunks)
        calls["n"] += 1
        if calls["n"] == 3:
            raise exc()
        return real(*a, **k)

    monkeypatch.setattr(experiments, "group_rollouts", flaky)
    cfg = _cfg(kind, tmp_path / "b.json")
    with pytest.raises(exc):
        RUN[kind](cfg, progress=False)
    lines = cfg.partial_path().read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["config"]  # the config and 2 finished chunks
    with pytest.raises(ValueError, match="resume"):  # never silently overwritten
        RUN[kind](cfg, progress=False)
    calls["n"] = -100
    resumed = RUN[kind](_cfg(kind, tmp_path / "b.json", resume=True), progress=False)
    assert _numbers(resumed) == _numbers(straight)
    write_result(cfg.out, resumed)
    experiments.finish(cfg)
    assert not cfg.partial_path().exists()


def test_torn_last_line_is_sampled_again(tmp_path):
    straight = experiments.run_xi(_cfg("xi", tmp_path / "a.json"), progress=False)
    cfg = _cfg("xi", tmp_path / "b.json")
    experiments.run_xi(cfg, progress=False)
    lines = cfg.partial_path().read_text().splitlines()
    cfg.partial_path().write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])  # kill mid-write
    resumed = experiments.run_xi(_cfg("xi", tmp_path / "b.json", resume=True), progress=False)
    assert _numbers(resumed) == _numbers(straight)


def test_resume_refuses_a_changed_configuration(tmp_path):
    cfg = _cfg("xi", tmp_path / "a.json")
    experiments.run_xi(cfg, progress=False)
    changed = XiConfig(model=ModelConfig(name="tiny"),
                       task=TaskConfig(task="arithmetic", task_options={"digits": 1}, prompts=7, group=3, horizon=9),
                       sampling=SamplingConfig(batch_size=6, seed=4), out=str(tmp_path / "a.json"), resume=True)
    with pytest.raises(ValueError, match="task"):
        experiments.run_xi(changed.validate(), progress=False)


def test_ppl_from_xi_resumes(tmp_path, monkeypatch):
    xi = _cfg("xi", tmp_path / "xi.json")
    write_result(xi.out, experiments.run_xi(xi, progress=False))
    straight = experiments.run_ppl(_cfg("ppl", tmp_path / "a.json", from_xi=xi.out), progress=False)
    real, calls = experiments.prompt_perplexity, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(experiments, "prompt_perplexity", flaky)
    with pytest.raises(KeyboardInterrupt):
        experiments.run_ppl(_cfg("ppl", tmp_path / "b.json", from_xi=xi.out), progress=False)
    calls["n"] = -100
    resumed = experiments.run_ppl(_cfg("ppl", tmp_path / "b.json", from_xi=xi.out, resume=True), progress=False)
    assert _numbers(resumed) == _numbers(straight)

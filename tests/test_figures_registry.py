"""Every registered figure honours the protocol; the slow tier runs them all."""

import pytest

from figures.base import RunContext
from figures.registry import all_claims, all_figures, select
from figures.runner import run_figure


def test_figures_are_discovered_with_unique_claims():
    figs = all_figures()
    assert figs, "no figure registered"
    ids = [c.id for f in figs for c in f.claims]
    assert len(ids) == len(set(ids)), "a claim id is declared by two figures"
    assert len(all_claims()) == len(ids)
    for f in figs:
        assert f.claims, f"figure {f.name} evaluates no claim"
        assert callable(f.compute) and callable(f.evaluate) and callable(f.draw)


def test_select_by_name_paper_and_claim():
    assert [f.name for f in select("weighting_effective_weights")] == ["weighting_effective_weights"]
    b = select("B")
    assert all(f.paper == "B" or any(c.paper == "B" for c in f.claims) for f in b)
    assert {"weighting_effective_weights", "llm_weighting_rho"} <= {f.name for f in b}
    assert any(f.name == "weighting_effective_weights" for f in select("B.symmetric-*"))


def test_unit_cache_resumes(tmp_path):
    calls = []

    def work():
        calls.append(1)
        return {"x": [1.0, 2.0]}

    ctx = RunContext(seed=1, cache_dir=tmp_path)
    assert ctx.unit("a", work) == {"x": [1.0, 2.0]}
    assert RunContext(seed=1, cache_dir=tmp_path).unit("a", work) == {"x": [1.0, 2.0]}
    assert len(calls) == 1  # the second context found the unit on disk
    RunContext(seed=2, cache_dir=tmp_path).unit("a", work)
    assert len(calls) == 2  # another seed is another unit
    assert ctx.seed_for("x", 1) == RunContext(seed=1).seed_for("x", 1) != ctx.seed_for("x", 2)


@pytest.mark.slow
@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_every_figure_runs_on_the_fast_profile(fig, tmp_path):
    res = run_figure(fig, RunContext(seed=0, cache_dir=tmp_path / "cache"), tmp_path)
    assert res.png.exists() and len(res.verdicts) == len(fig.claims)

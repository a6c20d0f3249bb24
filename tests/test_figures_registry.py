"""The figure kit: discovery, the unit cache and its key, declared inputs, executors; the slow tier
runs every figure."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

import figures.runner as runner
from figures.base import Figure, Layout, RunContext, Unit
from figures.executors import LocalExecutor, SerialExecutor, make_executor
from figures.registry import all_claims, all_figures, select
from figures.runner import context, figure_key, run_figure
from theory.claims import SUPPORTED, Claim, Verdict

CALLS = []


def square_unit(x, seed):
    """A module-level unit (executors ship it by name)."""
    CALLS.append(x)
    rng = np.random.default_rng(seed)
    return {"x2": x * x, "noise": rng.random(3)}


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


def test_units_cache_resume_and_return_in_label_order(tmp_path):
    CALLS.clear()
    ctx = RunContext(seed=1, cache_dir=tmp_path, key="k")
    units = {f"x={x}": Unit(square_unit, x=x, seed=ctx.seed_for("sq", x)) for x in (3, 1, 2)}
    first = ctx.units(units)
    assert list(first) == ["x=3", "x=1", "x=2"] and first["x=2"]["x2"] == 4
    assert sorted(CALLS) == [1, 2, 3]
    again = RunContext(seed=1, cache_dir=tmp_path, key="k").units(units)
    assert again == first and len(CALLS) == 3  # every unit came from the cache
    # a changed kwarg, figure key or seed is another unit
    RunContext(seed=1, cache_dir=tmp_path, key="k").units({"x=3": Unit(square_unit, x=3, seed=7)})
    RunContext(seed=1, cache_dir=tmp_path, key="other").units({"x=3": units["x=3"]})
    RunContext(seed=2, cache_dir=tmp_path, key="k").units({"x=3": units["x=3"]})
    assert len(CALLS) == 6


def test_unit_rejects_lambdas_closures_and_non_units():
    with pytest.raises(ValueError, match="module-level function"):
        Unit(lambda: 1)

    def inner():
        return 1

    with pytest.raises(ValueError, match="module-level function"):
        Unit(inner)
    with pytest.raises(ValueError, match="expects Unit values"):
        RunContext().units({"a": {"x": 1}})


def test_seeds_are_derived_from_the_master_seed():
    ctx = RunContext(seed=1)
    assert ctx.seeds("x", 3) == [ctx.seed_for("x", i) for i in range(3)]
    assert ctx.seeds(("x", 2), 2, below=2**62) == [ctx.seed_for("x", 2, i) % 2**62 for i in range(2)]
    assert ctx.seed_for("x", 1) == RunContext(seed=1).seed_for("x", 1) != RunContext(seed=2).seed_for("x", 1)
    assert RunContext(seed=1, full=True).seed_for("x") != ctx.seed_for("x")
    with pytest.raises(ValueError, match="n must be"):
        ctx.seeds("x", -1)


# --- a synthetic figure exercising the whole runner --------------------------------------------

CLAIM = Claim(id="A.kit-test", statement="s", provenance="R", predicted="p", measurement="m")


@dataclass(frozen=True)
class Config:
    n: int = 3


def _compute(ctx, cfg):
    res = ctx.units({f"u{i}": Unit(square_unit, x=i, seed=s) for i, s in enumerate(ctx.seeds("u", cfg.n))})
    inp = ctx.input("result_a.json")
    return {"n": cfg.n, "res": res, "z": {"b": 1, "a": 2}, "input": inp}


def _evaluate(data):
    note = ",".join(data["z"])  # depends on dict order: must be the same fresh or reused
    return [Verdict(CLAIM, SUPPORTED, {"n": data["n"]}, note=note)]


def _draw(data, axes):
    axes[0].plot([0, 1], [0, data["n"]])


FIG = Figure(name="budget_kit_test", title="t", claims=(CLAIM,), config=Config(), full=Config(n=4),
             compute=_compute, evaluate=_evaluate, draw=_draw, layout=Layout(1, 2, (4, 2)),
             inputs=("result_*.json",))


def _run(tmp_path, fig=FIG, *, inputs=None, fresh=False, executor=None, full=False):
    ctx = context(fig, seed=0, full=full, inputs_dir=inputs, cache_dir=tmp_path / "cache", executor=executor)
    return run_figure(fig, ctx, tmp_path, fresh=fresh)


def test_saved_data_are_reused_only_while_the_key_matches(tmp_path, monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "result_a.json").write_text('{"v": 1}')
    CALLS.clear()
    r1 = _run(tmp_path, inputs=inputs)
    assert not r1.reused and len(CALLS) == 3 and r1.png.exists()
    stored = json.loads(r1.data_path.read_text())
    assert stored["config"] == {"n": 3} and stored["inputs"]["result_a.json"] and stored["data"]["input"] == {"v": 1}
    r2 = _run(tmp_path, inputs=inputs)
    assert r2.reused and len(CALLS) == 3
    assert r1.verdicts[0].to_json() == r2.verdicts[0].to_json()  # same note order fresh and reused
    # another config (the full profile here) -> recomputed
    assert not _run(tmp_path, inputs=inputs, full=True).reused
    # an edited input file -> recomputed
    (inputs / "result_a.json").write_text('{"v": 2}')
    r3 = _run(tmp_path, inputs=inputs)
    assert not r3.reused and json.loads(r3.data_path.read_text())["data"]["input"] == {"v": 2}
    # edited source code -> recomputed, units included
    CALLS.clear()
    monkeypatch.setattr(runner, "source_hash", lambda: "edited")
    assert not _run(tmp_path, inputs=inputs).reused and len(CALLS) == 3
    # fresh recomputes everything, units included
    CALLS.clear()
    assert not _run(tmp_path, inputs=inputs, fresh=True).reused and len(CALLS) == 3


def test_figure_key_covers_config_seed_profile_inputs_source_and_versions(monkeypatch):
    base = figure_key(FIG, seed=0, full=False, inputs={})
    assert base == figure_key(FIG, seed=0, full=False, inputs={})
    assert base != figure_key(FIG, seed=1, full=False, inputs={})
    assert base != figure_key(FIG, seed=0, full=True, inputs={})
    assert base != figure_key(FIG, seed=0, full=False, inputs={"result_a.json": "00"})
    other = Figure(name=FIG.name, title="t", claims=(CLAIM,), config=Config(n=5), compute=_compute,
                   evaluate=_evaluate, draw=_draw)
    assert base != figure_key(other, seed=0, full=False, inputs={})
    monkeypatch.setattr(runner, "source_hash", lambda: "edited")
    edited = figure_key(FIG, seed=0, full=False, inputs={})
    assert edited != base
    monkeypatch.setattr(runner, "package_version", lambda: "0.0.0-other")
    bumped = figure_key(FIG, seed=0, full=False, inputs={})
    assert bumped != edited
    upgraded = {**runner.runtime_versions(), "numpy": "0.0"}
    monkeypatch.setattr(runner, "runtime_versions", lambda: upgraded)
    assert figure_key(FIG, seed=0, full=False, inputs={}) != bumped


def test_runtime_versions_name_the_numeric_stack():
    v = runner.runtime_versions()
    assert set(v) == {"python", "numpy", "scipy", "numba", "llvmlite"}
    assert v["numpy"] == np.__version__ and v["python"].count(".") == 2


def test_declared_inputs_only(tmp_path):
    ctx = context(FIG, inputs_dir=tmp_path)
    assert ctx.input("result_a.json") is None and ctx.input_glob("result_*.json") == []
    with pytest.raises(ValueError, match="not declared"):
        ctx.input("train_x.json")
    with pytest.raises(ValueError, match="existing directory"):
        context(FIG, inputs_dir=tmp_path / "missing")
    (tmp_path / "result_b.json").write_text("{not json")
    with pytest.raises(ValueError, match="result_b.json is not valid JSON"):
        context(FIG, inputs_dir=tmp_path)


def test_serial_and_local_executors_give_identical_bytes(tmp_path):
    _run(tmp_path / "serial", executor=SerialExecutor())
    with LocalExecutor(2) as pool:
        _run(tmp_path / "local", executor=pool)
    a = (tmp_path / "serial" / "data" / f"{FIG.name}.json").read_bytes()
    b = (tmp_path / "local" / "data" / f"{FIG.name}.json").read_bytes()
    assert a == b


@pytest.mark.parametrize("spec,match", [("gpu", "must be one of"), ("local=0", "N >= 1"), ("local=x", "N >= 1"),
                                        ("ray=", "needs an address"), ("serial=3", "must be one of")])
def test_bad_executor_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        make_executor(spec)


def test_ray_executor_names_the_extra_when_ray_is_absent(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray":
            raise ImportError("no ray")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ValueError, match=r"rlvr-lab\[ray\]"):
        make_executor("ray")


@pytest.mark.slow
@pytest.mark.parametrize("fig", all_figures(), ids=lambda f: f.name)
def test_every_figure_runs_on_the_fast_profile(fig, tmp_path):
    res = run_figure(fig, context(fig, seed=0, cache_dir=tmp_path / "cache"), tmp_path)
    assert res.png.exists() and len(res.verdicts) == len(fig.claims)

"""Claim records, verdicts and the statistics behind uncertainty."""

import numpy as np
import pytest

from theory.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Verdict, judge_interval
from theory.stats import bootstrap_ci, fit_line, mean_se


def _claim(**kw):
    base = dict(id="A.peak-efficiency", statement="s", provenance="V", predicted="p", measurement="m")
    return Claim(**{**base, **kw})


def test_claim_and_verdict_records():
    c = _claim()
    assert c.paper == "A"
    v = Verdict(c, SUPPORTED, measured={"x": 1.0}, sample_size={"seeds": 8})
    j = v.to_json()
    assert {"id", "paper", "statement", "provenance", "verdict", "measured"} <= set(j)
    assert j["verdict"] == "supported" and j["paper"] == "A"


@pytest.mark.parametrize("kw,match", [({"id": "peak"}, "claim id"), ({"id": "F.x"}, "claim id"),
                                      ({"provenance": "X"}, "provenance must be")])
def test_bad_claims(kw, match):
    with pytest.raises(ValueError, match=match):
        _claim(**kw)


def test_bad_verdict():
    with pytest.raises(ValueError, match="verdict must be one of"):
        Verdict(_claim(), "maybe", measured={})


def test_judge_interval():
    assert judge_interval(1.6, 1.9, 1.5, 2.0) == SUPPORTED
    assert judge_interval(2.1, 3.0, 1.5, 2.0) == NOT_SUPPORTED
    assert judge_interval(0.1, 1.4, 1.5, 2.0) == NOT_SUPPORTED
    assert judge_interval(1.0, 1.7, 1.5, 2.0) == INCONCLUSIVE
    with pytest.raises(ValueError):
        judge_interval(2.0, 1.0, 0, 1)


def test_stats_helpers():
    m, se = mean_se([1.0, 2.0, 3.0])
    assert m == 2.0 and se == pytest.approx(1 / np.sqrt(3))
    x = np.random.default_rng(0).normal(5.0, 1.0, size=400)
    lo, hi = bootstrap_ci(x, seed=1)
    assert lo < 5.0 < hi and hi - lo < 0.4  # 95% CI width ~ 4 * 1/sqrt(400) = 0.2
    xs = np.arange(10.0)
    fit = fit_line(xs, 3 * xs + 1 + np.random.default_rng(2).normal(0, 0.01, 10))
    assert fit.lo < 3.0 < fit.hi and fit.slope == pytest.approx(3.0, abs=0.01)
    with pytest.raises(ValueError, match="length >= 3"):
        fit_line([1, 2], [1, 2])


def test_judge_and_combine():
    from theory.claims import combine, judge

    assert judge(supported=True, not_supported=False) == SUPPORTED
    assert judge(supported=False, not_supported=True) == NOT_SUPPORTED
    assert judge(supported=False, not_supported=False) == INCONCLUSIVE
    with pytest.raises(ValueError, match="both hold"):
        judge(supported=True, not_supported=True)
    assert combine([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert combine([SUPPORTED, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([SUPPORTED, INCONCLUSIVE], rule="any") == SUPPORTED
    assert combine([SUPPORTED, NOT_SUPPORTED], rule="any") == NOT_SUPPORTED
    assert combine([INCONCLUSIVE], rule="any") == INCONCLUSIVE
    with pytest.raises(ValueError, match="rule must be"):
        combine([SUPPORTED], rule="most")
    with pytest.raises(ValueError, match="non-empty"):
        combine([])


def test_mean_ci_and_finite_mean_se():
    from scipy import stats as st

    from theory.stats import finite_mean_se, mean_ci

    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, lo, hi = mean_ci(x)
    half = st.t.ppf(0.975, 3) * x.std(ddof=1) / 2.0
    assert m == pytest.approx(3.5) and lo == pytest.approx(3.5 - half) and hi == pytest.approx(3.5 + half)
    with pytest.raises(ValueError, match="at least two"):
        mean_ci([1.0])
    r = finite_mean_se([1.0, 3.0, np.inf])
    assert r["mean"] == 2.0 and r["missed"] == 1 and r["se"] == pytest.approx(1.0)
    assert finite_mean_se([np.inf]) == {"mean": None, "se": None, "missed": 1}

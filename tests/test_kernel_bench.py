"""Paper C: the NumPy twin of the simulator agrees with the Numba kernel; the bench case is well formed."""

import numpy as np
import pytest

from simulate.kernel import Method, simulate
from simulate.kernel_numpy import bench_cases, value_mse_numpy


@pytest.mark.parametrize("g,reuse", [(1, 3), (3, 1), (4, 5)])
def test_numpy_twin_equals_kernel(g, reuse):
    hs = (0.1, 0.5)
    kw = dict(n_prompts=20, batch_size=6, group_size=g, n_steps=25, reuse=reuse, n_runs=2, seed=3)
    base = (Method("oracle"), Method("grpo"), Method("global")) + tuple(Method("kae", "triangular", h) for h in hs)
    got = simulate(drift="logistic", baselines=base, capacity=25 * g, **kw).value_mse
    np.testing.assert_allclose(value_mse_numpy(bandwidths=hs, **kw), got, rtol=1e-9, atol=1e-14)


def test_bench_case_runs():
    (case,) = bench_cases(quick=True)
    assert case.reference in case.candidates and case.work > 0
    case.setup()
    for fn in case.candidates.values():
        fn()

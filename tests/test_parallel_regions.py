"""Every simulator's parallel region really runs in parallel (slow: compiles every kernel afresh).

Numba runs a ``prange`` loop serially, with only a NumbaPerformanceWarning, when its body has a
second exit, e.g. a ``raise`` inlined from a called function. The warning fires when a kernel
compiles, never when it loads from the cache, so this test compiles every simulator in a fresh
process with an empty cache directory and fails on that warning.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import simulate.budget as SB
        from simulate.composition import expected_runs, sampled_runs
        from simulate.curriculum import Model, sweep
        from simulate.kernel import simulate as kernel_simulate
        from simulate.weighting import simulate as weighting_simulate
        from theory.composition import mod_verifier

        d = SB.difficulty_population(8, 0.5)
        SB.simulate_sweep(d=d, theta0=[-3.0, -2.0], H=[64, 64], seed=[0, 1], n_iter=2)
        SB.PROMPT_PARALLEL_MIN_DRAWS = 0  # the prompt-parallel kernel of one large run
        SB.simulate_policy_gradient(d=d, theta0=-2.0, H=64, n_iter=2)
        sampled_runs(np.full((2, 3), 1 / 3), mod_verifier(2), seeds=[1, 2], n_iter=3)
        expected_runs(np.full((2, 3), 1 / 3), mod_verifier(2), n_iter=3)
        weighting_simulate("grpo", [0.2, 0.6], group_size=4, n_steps=3, step=0.05, seed=1)
        kernel_simulate(n_prompts=20, batch_size=4, group_size=4, n_steps=4, n_runs=2, seed=1)
        sweep([0, 1], ["schedule", "random"], [True, False], [Model()] * 2, n_pool=40, n_candidates=8,
              group_size=4, n_steps=3)
    serial = [" ".join(ln.strip() for ln in str(w.message).splitlines() if ln.strip())[:400]
              for w in caught if "will not be executed in parallel" in str(w.message)]
    print("SERIAL:" + repr(serial))
""")


@pytest.mark.slow
def test_no_simulator_prange_runs_serially(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}  # an empty cache: every kernel compiles
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("SERIAL:")]
    assert line == ["SERIAL:[]"], line

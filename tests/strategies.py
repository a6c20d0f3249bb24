"""Hypothesis strategies for valid parameter spaces, in one place."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def reward_batches(draw, *, binary=None, min_group=1, max_group=12, max_prompts=6, subnormal=True):
    """(P, G) float64 rewards: binary, unit-interval or dyadic-ish reals; includes constant groups."""
    p = draw(st.integers(1, max_prompts))
    g = draw(st.integers(min_group, max_group))
    kind = draw(st.sampled_from(["binary", "unit"])) if binary is None else ("binary" if binary else "unit")
    if kind == "binary":
        elems = st.sampled_from([0.0, 1.0])
    else:
        elems = st.floats(0.0, 1.0, allow_nan=False, width=64, allow_subnormal=subnormal)
    r = draw(hnp.arrays(np.float64, (p, g), elements=elems))
    if draw(st.booleans()):  # force a constant group, the edge every framework treats differently
        r[0, :] = r[0, 0]
    return r


probabilities = st.floats(0.0, 1.0, allow_nan=False)
open_probabilities = st.floats(1e-6, 1.0 - 1e-6, allow_nan=False)

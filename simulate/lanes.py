"""Explicit vector operations on :data:`simulate.rng.LANES` float64 at a time, where Numba's loops
do not give the vector code.

``count_le(a, start, x)`` is the number of ``a[start:start + LANES]`` that are <= x. Compiled, it
is one vector compare, a mask move and a popcount. The same loop written in Numba (``j += 1 if
a[k] <= x else 0``) vectorises to a compare, a mask-to-integer conversion, a subtraction and a
five-instruction horizontal sum per call, with a run-time trip count and its scalar remainder
loop. Written once here, so every inverse-CDF search uses it (:func:`simulate.weighting._categorical`).

The plain-Python body is the twin (``count_le`` called from Python, or from the ``py_func`` of a
kernel); the compiled form comes from an ``@overload`` to an ``@intrinsic``, the pattern of
:mod:`simulate.rng`'s bit moves. tests/test_lanes.py checks the two against each other.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from simulate.rng import LANES

__all__ = ["count_le"]


def count_le(a, start, x):
    """How many of a[start], ..., a[start + LANES - 1] are <= x (NaN compares false).

    The caller guarantees start + LANES <= len(a): the compiled form reads LANES entries unchecked.

    >>> import numpy as np
    >>> count_le(np.array([0.1, 0.2, 0.2, 0.5, 0.7, 0.9, 1.0, np.inf, 0.0]), 0, 0.2)
    3
    """
    n = 0
    for k in range(start, start + LANES):
        n += 1 if a[k] <= x else 0
    return n


@intrinsic
def _count_le_vector(typingctx, a, start, x):
    """LLVM IR of count_le: load <LANES x double> at &a[start], fcmp ole against splat(x), bitcast
    the <LANES x i1> mask to an integer and popcount it."""
    if not (isinstance(a, types.Array) and a.dtype == types.float64 and a.ndim == 1
            and isinstance(start, types.Integer) and x == types.float64):
        return None

    def codegen(context, builder, sig, args):
        array, index, value = args
        data = context.make_array(sig.args[0])(context, builder, array).data
        vector = ir.VectorType(ir.DoubleType(), LANES)
        block = builder.load(builder.bitcast(builder.gep(data, [index]), vector.as_pointer()), align=8)
        lane0 = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        splat = builder.shuffle_vector(lane0, ir.Constant(vector, ir.Undefined),
                                       ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))
        mask = builder.bitcast(builder.fcmp_ordered("<=", block, splat), ir.IntType(LANES))
        return builder.zext(builder.ctpop(mask), ir.IntType(64))

    return types.int64(a, start, x), codegen


@overload(count_le, jit_options={"cache": True}, inline="always")
def _count_le_compiled(a, start, x):
    if isinstance(a, types.Array) and a.dtype == types.float64 and a.ndim == 1 and a.layout == "C":
        return lambda a, start, x: _count_le_vector(a, start, x)
    return count_le  # strided or other dtypes: the loop

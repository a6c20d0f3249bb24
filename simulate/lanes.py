"""Code for small fixed sizes, where Numba's loops do not give the machine code they could.

**Vector count.** ``count_le(a, start, x)`` is the number of ``a[start:start + LANES]`` that are
<= x (:data:`simulate.rng.LANES` float64). Compiled, it is one vector compare, a mask move and a
popcount. The same loop written in Numba (``j += 1 if a[k] <= x else 0``) vectorises to a compare,
a mask-to-integer conversion, a subtraction and a five-instruction horizontal sum per call, with a
run-time trip count and its scalar remainder loop. Written once here, so every inverse-CDF search
uses it (:func:`simulate.weighting._categorical`). The plain-Python body is the twin (``count_le``
called from Python, or from the ``py_func`` of a kernel); the compiled form comes from an
``@overload`` to an ``@intrinsic``, the pattern of :mod:`simulate.rng`'s bit moves.

**Sizes as compile-time constants.** ``sizes(K)`` (any number of sizes) is a one-element
structured array whose single field has shape (K,): the sizes live in its TYPE, and
``static_shape(marker)`` inside a kernel returns them as constants. A kernel's loops over them then
have fixed trip counts, which LLVM unrolls or vectorises without run-time prologues, remainders or
index checks (paper B's K = 8 responses: 11.3 -> 9.5 ns per response). The price is one
compilation per distinct sizes, kept by Numba's on-disk cache (the type is part of the
signature), so it suits sizes that take few values in practice. A structured array rather than a
tuple, because a parallel region (``prange``) passes only scalars and arrays into its body; rather
than a closure over the sizes, because Numba keys a closure's cache entry on its captured objects,
and a captured kernel differs in every process (a recompilation per run). tests/test_lanes.py
checks both helpers.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from simulate.rng import LANES

__all__ = ["count_le", "sizes", "static_shape"]


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


def sizes(*n: int) -> np.ndarray:
    """A marker whose type carries the sizes ``n`` (module docstring); each must be >= 1.

    >>> sizes(2, 3, 8).dtype["sizes"].shape
    (2, 3, 8)
    """
    if not n or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in n):
        raise ValueError(f"sizes must be integers >= 1; got {n}")
    return np.zeros(1, dtype=[("sizes", np.uint8, tuple(int(k) for k in n))])


@njit(cache=True, inline="always")
def static_shape(marker):
    """The sizes a :func:`sizes` marker carries, as compile-time constants (a tuple)."""
    return marker[0].sizes.shape

"""Code for small fixed sizes, where Numba's loops do not give the machine code they could.

**Vector count.** ``count_le(a, start, x)`` is the number of ``a[start:start + LANES]`` that are
<= x (:data:`simulate.rng.LANES` float64). Compiled, it is one vector compare, a mask move and a
popcount. The same loop written in Numba (``j += 1 if a[k] <= x else 0``) vectorises to a compare,
a mask-to-integer conversion, a subtraction and a five-instruction horizontal sum per call, with a
run-time trip count and its scalar remainder loop. Written once here, so every inverse-CDF search
uses it (:func:`simulate.weighting._categorical`). The plain-Python body is the twin (``count_le``
called from Python, or from the ``py_func`` of a kernel); the compiled form comes from an
``@overload`` to an ``@intrinsic``, the pattern of :mod:`simulate.rng`'s bit moves.

**One-hot scores.** ``onehot_scores(shape, adv, acts, pi, out)`` is the score sum of a softmax
policy's sampled update, out[s, j] = sum_i adv[i] (1[acts[i, s] = j] - pi[s, j]) over i in order
(:func:`simulate.composition._sampled_step`). Compiled, it holds all S K sums in one vector and
adds one rollout to every sum per step: a splat of adv[i], a shuffle of the rollout's S tasks to
the S K lanes, a compare with each lane's task, a select of 1.0 or 0.0, a subtraction, a product
and a sum, each the scalar operation of the loop lane by lane (IEEE arithmetic, no contraction), so
the bits are the loop's. Numba's loop takes eight scalar instructions per (i, s, j) (paper E's
bench shape S = 2, K = 3, G = 8: 48 of them per iteration), and LLVM vectorises neither the loop
nor its interchange (an accumulator array in memory, which it cannot prove apart from the inputs).

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
from numba.core import cgutils
from numba.extending import intrinsic, overload

from simulate.rng import LANES

__all__ = ["count_le", "onehot_scores", "sizes", "static_shape"]

MAX_LANES = 64  # onehot_scores' widest accumulator vector (512 bytes); more sums take the loop


def _splat(builder, value, vector):
    """IR: ``value`` in every lane of a ``vector``-typed value (insertelement, then a zero shuffle)."""
    i32 = ir.IntType(32)
    lane0 = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(i32, 0))
    return builder.shuffle_vector(lane0, ir.Constant(vector, ir.Undefined),
                                  ir.Constant(ir.VectorType(i32, vector.count), [0] * vector.count))


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
        mask = builder.bitcast(builder.fcmp_ordered("<=", block, _splat(builder, value, vector)), ir.IntType(LANES))
        return builder.zext(builder.ctpop(mask), ir.IntType(64))

    return types.int64(a, start, x), codegen


@overload(count_le, jit_options={"cache": True}, inline="always")
def _count_le_compiled(a, start, x):
    if isinstance(a, types.Array) and a.dtype == types.float64 and a.ndim == 1 and a.layout == "C":
        return lambda a, start, x: _count_le_vector(a, start, x)
    return count_le  # strided or other dtypes: the loop


def onehot_scores(shape, adv, acts, pi, out):
    """out[s, j] = sum over i < G, in order, of adv[i] * ((1.0 if acts[i, s] == j else 0.0) - pi[s, j]).

    ``shape``: a :func:`sizes` marker whose first three sizes are (S, K, G); adv (G,) float64, acts
    (G, S) int64, pi and out (S, K) float64. The compiled form reads the sizes from the marker's
    type and the arrays unchecked (C-contiguous arrays; others take this loop).

    >>> import numpy as np
    >>> out = np.empty((1, 2))
    >>> onehot_scores(sizes(1, 2, 2), np.array([1.0, -1.0]), np.array([[0], [1]]), np.array([[0.5, 0.5]]), out)
    >>> out.tolist()
    [[1.0, -1.0]]
    """
    S, K = pi.shape
    for s in range(S):
        for j in range(K):
            acc = 0.0
            for i in range(adv.shape[0]):
                acc += adv[i] * ((1.0 if acts[i, s] == j else 0.0) - pi[s, j])
            out[s, j] = acc


def _vector_sizes(shape, adv, acts, pi, out):
    """(S, K, G) from a sizes() marker type when every array type suits the vector form, else None."""
    f64 = types.float64
    if not (isinstance(shape, types.Array) and isinstance(shape.dtype, types.Record)
            and "sizes" in shape.dtype.fields and len(shape.dtype.typeof("sizes").shape) >= 3):
        return None
    arrays = (adv, acts, pi, out)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrays):
        return None
    if tuple((a.dtype, a.ndim) for a in arrays) != ((f64, 1), (types.int64, 2), (f64, 2), (f64, 2)):
        return None
    n = shape.dtype.typeof("sizes").shape[:3]
    return n if n[0] * n[1] <= MAX_LANES else None


@intrinsic
def _onehot_scores_vector(typingctx, shape, adv, acts, pi, out):
    """LLVM IR of onehot_scores (module docstring): a loop over the G rollouts whose accumulator is
    one <S K x double> vector (an alloca that LLVM keeps in registers)."""
    n = _vector_sizes(shape, adv, acts, pi, out)
    if n is None:
        return None
    S, K, G = n
    L = S * K

    def codegen(context, builder, sig, args):
        adv_p, acts_p, pi_p, out_p = (context.make_array(t)(context, builder, v).data
                                      for t, v in zip(sig.args[1:], args[1:]))
        vec, ivec = ir.VectorType(ir.DoubleType(), L), ir.VectorType(ir.IntType(64), L)
        row_t = ir.VectorType(ir.IntType(64), S)
        i32 = ir.IntType(32)
        p = builder.load(builder.bitcast(pi_p, vec.as_pointer()), align=8)
        task = ir.Constant(ivec, [lane % K for lane in range(L)])  # lane s K + j: task j
        step = ir.Constant(ir.VectorType(i32, L), [lane // K for lane in range(L)])  # ... of step s
        one, zero = ir.Constant(vec, [1.0] * L), ir.Constant(vec, [0.0] * L)
        acc = cgutils.alloca_once_value(builder, zero)
        with cgutils.for_range(builder, ir.Constant(ir.IntType(64), G)) as loop:
            i = loop.index
            a = _splat(builder, builder.load(builder.gep(adv_p, [i])), vec)
            row = builder.load(builder.bitcast(builder.gep(acts_p, [builder.mul(i, ir.Constant(ir.IntType(64), S))]),
                                               row_t.as_pointer()), align=8)
            lanes = builder.shuffle_vector(row, ir.Constant(row_t, ir.Undefined), step)
            hot = builder.select(builder.icmp_signed("==", lanes, task), one, zero)
            builder.store(builder.fadd(builder.load(acc), builder.fmul(a, builder.fsub(hot, p))), acc)
        builder.store(builder.load(acc), builder.bitcast(out_p, vec.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.none(shape, adv, acts, pi, out), codegen


@overload(onehot_scores, jit_options={"cache": True}, inline="always")
def _onehot_scores_compiled(shape, adv, acts, pi, out):
    if _vector_sizes(shape, adv, acts, pi, out) is not None:
        return lambda shape, adv, acts, pi, out: _onehot_scores_vector(shape, adv, acts, pi, out)
    return onehot_scores  # other layouts or dtypes: the loop


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

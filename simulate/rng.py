"""Counter-based random numbers: every draw is a pure function of (seed, stream, counter).

A simulator never touches global or per-thread generator state: draw k of stream s under seed
``seed`` is ``uniform(seed, s, k)``. Work split over Numba's ``prange`` therefore gives the same
numbers on any number of threads, and a plain-Python oracle reproduces a kernel's draws exactly
(``uniform_py`` is the twin of ``uniform``, ``uniform_np`` its vectorised NumPy twin; tests/test_rng.py checks them against each other).

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014) applied to a combination of the
three 64-bit words; outputs are the top 53 bits mapped to the open interval (0, 1).

``ln`` is the natural log the kernels use to invert uniforms: fdlibm's ``__ieee754_log`` (Sun
Microsystems 1993, the algorithm of FreeBSD's and musl's ``log``; error < 1 ulp, measured <= 0.82
ulp against an extended-precision log in tests/test_rng.py), written in IEEE basic operations and
bit moves only. Two things follow. The same input gives the same bits on every platform (a libm's
``log`` is not correctly rounded and differs between glibc, macOS and MSVC), and a loop of ``ln``
calls vectorises (a libm call does not): on the development machine (AVX-512) 1.05 ns per log in a
long loop against 4.05 ns for libm's. ``ln_py`` is its plain-Python twin: the same source run by
Python (the bit moves have Python bodies and compiled overloads), bit for bit. ``exp``
(fdlibm's ``__ieee754_exp``, < 1 ulp, measured <= 0.86 ulp; 0.97 vs 4.28 ns) and ``exp_py`` are the
same for e^x. A loop of either vectorises only where its division is IEEE (``error_model="numpy"``
on the calling kernel; the default model checks every divisor for zero, a branch). ``cos2pi``
(cos 2 pi u, FreeBSD's kernels after an exact reduction) completes the set: ``exponential`` (-ln u)
and ``normal`` (Box-Muller: ln, sqrt, cos2pi) give the same bits on every platform too, which libm's
log and cos (used until 2026-12) did not.
Choose streams so that independent quantities never share (stream, counter): e.g. stream =
prompt * n_iter + iteration, counter = rollout * draws_per_rollout + j.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["uniform", "stream_key", "uniform_at", "uniforms_into", "LANES", "padded", "normal", "exponential", "ln",
           "exp", "cos2pi", "uniform_np", "uniform_py", "normal_py", "exponential_py", "ln_py", "exp_py", "cos2pi_py"]

LANES = 8  # draws in blocks of LANES: a fixed trip count the compiler turns into vector code

_M = 0xFFFFFFFFFFFFFFFF
_G = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_S = 0xD6E8FEB86659FD93


# fdlibm e_log.c: ln 2 split in two, and the minimax coefficients of (log(1+f) - f + f^2/2) in s^2
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = (6.666666666666735130e-01, 3.999999999940941908e-01,
                                            2.857142874366239149e-01, 2.222219843214978396e-01,
                                            1.818357216161805012e-01, 1.531383769920937332e-01,
                                            1.479819860511658591e-01)


# fdlibm e_exp.c: 1/ln 2 and the minimax coefficients of R(r^2) ~ r (e^r + 1) / (e^r - 1)
_INV_LN2 = 1.44269504088896338700e00
_P1, _P2, _P3, _P4, _P5 = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
                           -1.65339022054652515390e-06, 4.13813679705723846039e-08)

# FreeBSD's (and musl's) k_cos.c and k_sin.c: minimax coefficients of cos and sin on [-pi/4, pi/4]
_COS1, _COS2, _COS3, _COS4, _COS5, _COS6 = (4.16666666666666019037e-02, -1.38888888888741095749e-03,
                                            2.48015872894767294178e-05, -2.75573143513906633035e-07,
                                            2.08757232129817482790e-09, -1.13596475577881948265e-11)
_SIN1, _SIN2, _SIN3, _SIN4, _SIN5, _SIN6 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03,
                                            -1.98412698298579493134e-04, 2.75573137070700676789e-06,
                                            -2.50507602534068634195e-08, 1.58969099521155010221e-10)
# 2 pi as the double nearest it plus the rest, and the double split in two 26-bit halves (Dekker),
# so that 2 pi f is formed exactly as hi + lo
_TWO_PI = 6.28318530717958623200e00
_TWO_PI_LO = 2.44929359829470635445e-16
_SPLIT = 134217729.0  # 2^27 + 1
_TWO_PI_H = _SPLIT * _TWO_PI - (_SPLIT * _TWO_PI - _TWO_PI)
_TWO_PI_L = _TWO_PI - _TWO_PI_H


def _bits(x: float) -> int:
    """The IEEE 754 bit pattern of a float64, as an int64 (compiled: a register move)."""
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _from_bits(i: int) -> float:
    """The float64 with bit pattern ``i`` (int64)."""
    return struct.unpack("<d", struct.pack("<q", i))[0]


@intrinsic
def _bitcast(typingctx, value, to):
    """Reinterpret a float64 as int64 or back (``to`` a type literal); no instruction on x86-64."""
    target = to.instance_type if isinstance(to, types.NumberClass) else None
    if {value, target} != {types.float64, types.int64}:
        return None
    return target(value, to), lambda context, builder, sig, args: builder.bitcast(args[0], context.get_value_type(target))


@overload(_bits, jit_options={"cache": True}, inline="always")
def _bits_compiled(x):
    return (lambda x: _bitcast(x, types.int64)) if x == types.float64 else None


@overload(_from_bits, jit_options={"cache": True}, inline="always")
def _from_bits_compiled(i):
    return (lambda i: _bitcast(i, types.float64)) if i == types.int64 else None


@njit(cache=True, inline="always", error_model="numpy")
def ln(x):
    """Natural log of a positive, normal, finite float64 (fdlibm's algorithm; not for 0, subnormals,
    inf or nan, which a uniform never is). Branch-free, so loops of it vectorise."""
    hx = _bits(x)
    top = (hx >> 32) + (0x3FF00000 - 0x3FE6A09E)  # shift the mantissa range to [sqrt(2)/2, sqrt(2))
    k = (top >> 20) - 0x3FF
    top = (top & 0x000FFFFF) + 0x3FE6A09E
    f = _from_bits((top << 32) | (hx & 0xFFFFFFFF)) - 1.0  # x = 2^k (1 + f)
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    dk = float(k)
    return s * (hfsq + r) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI


@njit(cache=True, inline="always", error_model="numpy")
def exp(x):
    """e^x (fdlibm's algorithm, error < 1 ulp): 0 below about -745.1, inf above about 709.8 (and at
    +-inf as libm), nan for nan, subnormal results rounded once. Branch-free, so loops of it vectorise."""
    xc = min(max(x, -746.0), 710.0)  # keeps k in range; the results there are 0 and inf anyway
    kf = np.floor(xc * _INV_LN2 + 0.5)  # x = k ln 2 + r, |r| <= ln 2 / 2 (+ round-off)
    kf = kf if x == x else 0.0  # nan: any finite k (the nan itself is returned)
    hi = xc - kf * _LN2_HI  # exact: _LN2_HI has 32 trailing zero bits
    lo = kf * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)  # e^r
    k = np.int64(kf)
    k1 = k >> 1  # 2^k as two normal factors, so subnormal results round once (at the last product)
    e = y * _from_bits((k1 + 1023) << 52) * _from_bits((k - k1 + 1023) << 52)
    return e if x == x else x


@njit(cache=True, inline="always")
def cos2pi(u):
    """cos(2 pi u) for 0 <= u <= 1: the angle reduced exactly, then the polynomials of FreeBSD's (and
    musl's) ``__kernel_cos``/``__kernel_sin``; < 1 ulp, measured <= 0.74 ulp against a 200-bit
    cosine (tests/test_rng.py). Basic IEEE operations only, so the same bits on every platform; and
    unlike ``cos(2 * pi * u)`` it is accurate near the zeros too (2 pi u is never rounded)."""
    q = math.floor(4.0 * u + 0.5)  # the quarter turn nearest u (4u is exact)
    f = u - 0.25 * q  # exact (the two are within a factor 2), |f| <= 1/8
    hi = f * _TWO_PI  # 2 pi f = hi + lo: Dekker's exact product, then the rest of 2 pi
    c = _SPLIT * f
    fh = c - (c - f)
    fl = f - fh
    lo = (((fh * _TWO_PI_H - hi) + fh * _TWO_PI_L + fl * _TWO_PI_H) + fl * _TWO_PI_L) + f * _TWO_PI_LO
    x = hi + lo  # |x| <= pi / 4
    y = lo - (x - hi)
    z = x * x
    w = z * z
    k = q & 3
    if k == 0 or k == 2:  # cos(x + y)
        r = z * (_COS1 + z * (_COS2 + z * _COS3)) + w * w * (_COS4 + z * (_COS5 + z * _COS6))
        hz = 0.5 * z
        v = 1.0 - hz
        out = v + (((1.0 - v) - hz) + (z * r - x * y))
    else:  # sin(x + y)
        r = _SIN2 + z * (_SIN3 + z * _SIN4) + z * w * (_SIN5 + z * _SIN6)
        v = z * x
        out = x - ((z * (0.5 * y - v * r) - y) - v * _SIN1)
    return -out if k == 1 or k == 2 else out  # cos(pi/2 + x) = -sin x, cos(pi + x) = -cos x, ...


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def stream_key(seed, stream):
    """The 64-bit key of (seed, stream): hoist it out of a loop over counters."""
    z = _mix(np.uint64(seed) + np.uint64(_G))
    return _mix(z ^ (np.uint64(stream) * np.uint64(_S) + np.uint64(_G)))


@njit(cache=True, inline="always")
def uniform_at(key, counter):
    """``uniform(seed, stream, counter)`` given ``key = stream_key(seed, stream)`` (one mix per draw)."""
    z = _mix(key ^ (np.uint64(counter) * np.uint64(_G) + np.uint64(_C2)))
    return ((z >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740993.0)


@njit(cache=True, inline="always")
def padded(n):
    """n rounded up to a whole number of LANES blocks: the scratch length for n blocked draws."""
    return (n + LANES - 1) // LANES * LANES


@njit(cache=True, inline="always")
def uniforms_into(key, n, out):
    """out[c] = uniform_at(key, c) for c < padded(n) (out needs that many entries), LANES at a time:
    vector code, about 5x faster per draw than one draw at a time between other work. The block
    index is written ``b * LANES + j`` with b, j from ``range``: from ``range(0, n, LANES)`` Numba
    keeps a negative-index check and the lanes are stored with a scatter (2.5x slower, measured)."""
    for b in range(padded(n) // LANES):
        for j in range(LANES):
            c = b * LANES + j
            out[c] = uniform_at(key, c)


@njit(cache=True, inline="always")
def uniform(seed, stream, counter):
    """A float in (0, 1), determined by the three integers alone."""
    return uniform_at(stream_key(seed, stream), counter)


@njit(cache=True, inline="always")
def exponential(seed, stream, counter):
    """Exp(1) by inversion of one uniform (:func:`ln`: the same bits on every platform)."""
    return -ln(uniform(seed, stream, counter))


@njit(cache=True, inline="always")
def normal(seed, stream, counter):
    """N(0, 1) by Box-Muller from the uniforms at counters 2k and 2k + 1 (:func:`ln`, a correctly
    rounded sqrt and :func:`cos2pi`: the same bits on every platform)."""
    u1 = uniform(seed, stream, 2 * counter)
    u2 = uniform(seed, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * ln(u1)) * cos2pi(u2)


# --- plain-Python twins (for oracles and tests) -----------------------------------------------
def _mix_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * _C1) & _M
    z = ((z ^ (z >> 27)) * _C2) & _M
    return z ^ (z >> 31)


def uniform_py(seed: int, stream: int, counter: int) -> float:
    z = _mix_py((seed + _G) & _M)
    z = _mix_py(z ^ ((stream * _S + _G) & _M))
    z = _mix_py(z ^ ((counter * _G + _C2) & _M))
    return ((z >> 11) + 1) * (1.0 / 9007199254740993.0)


ln_py = ln.py_func  # the same source run by Python, operation for operation (floats are IEEE doubles)
exp_py = exp.py_func
cos2pi_py = cos2pi.py_func


def exponential_py(seed: int, stream: int, counter: int) -> float:
    return -ln_py(uniform_py(seed, stream, counter))


def normal_py(seed: int, stream: int, counter: int) -> float:
    u1 = uniform_py(seed, stream, 2 * counter)
    u2 = uniform_py(seed, stream, 2 * counter + 1)
    return math.sqrt(-2.0 * ln_py(u1)) * cos2pi_py(u2)


# --- vectorised NumPy twin (uint64 arithmetic wraps like the kernel's) ------------------------
def _mix_np(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
    return z ^ (z >> np.uint64(31))


def uniform_np(seed, stream, counter) -> np.ndarray:
    """``uniform`` over arrays: broadcasts its three integer arguments (for NumPy reference paths)."""
    with np.errstate(over="ignore"):
        seed, stream, counter = (np.asarray(x).astype(np.uint64) for x in (seed, stream, counter))
        z = _mix_np(seed + np.uint64(_G))
        z = _mix_np(z ^ (stream * np.uint64(_S) + np.uint64(_G)))
        z = _mix_np(z ^ (counter * np.uint64(_G) + np.uint64(_C2)))
    return ((z >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * (1.0 / 9007199254740993.0)

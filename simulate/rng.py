"""Counter-based random numbers: every draw is a pure function of (seed, stream, counter).

A simulator never touches global or per-thread generator state: draw k of stream s under seed
``seed`` is ``uniform(seed, s, k)``. Work split over Numba's ``prange`` therefore gives the same
numbers on any number of threads, and a plain-Python oracle reproduces a kernel's draws exactly
(``uniform_py`` is the twin of ``uniform``, ``uniform_np`` its vectorised NumPy twin; tests/test_rng.py checks them against each other).

The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014) applied to a combination of the
three 64-bit words; outputs are the top 53 bits mapped to the open interval (0, 1).
Choose streams so that independent quantities never share (stream, counter): e.g. stream =
prompt * n_iter + iteration, counter = rollout * draws_per_rollout + j.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["uniform", "stream_key", "uniform_at", "normal", "exponential", "uniform_np", "uniform_py", "normal_py", "exponential_py"]

_M = 0xFFFFFFFFFFFFFFFF
_G = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_S = 0xD6E8FEB86659FD93


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
def uniform(seed, stream, counter):
    """A float in (0, 1), determined by the three integers alone."""
    return uniform_at(stream_key(seed, stream), counter)


@njit(cache=True, inline="always")
def exponential(seed, stream, counter):
    """Exp(1) by inversion of one uniform."""
    return -np.log(uniform(seed, stream, counter))


@njit(cache=True, inline="always")
def normal(seed, stream, counter):
    """N(0, 1) by Box-Muller from the uniforms at counters 2k and 2k + 1."""
    u1 = uniform(seed, stream, 2 * counter)
    u2 = uniform(seed, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


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


def exponential_py(seed: int, stream: int, counter: int) -> float:
    return -math.log(uniform_py(seed, stream, counter))


def normal_py(seed: int, stream: int, counter: int) -> float:
    u1 = uniform_py(seed, stream, 2 * counter)
    u2 = uniform_py(seed, stream, 2 * counter + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


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

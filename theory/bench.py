"""The shape of a benchmark case; the harness that times them is ``rlvr-lab bench``.

A layer module (``simulate/<paper>.py``, ``llm_backend/...``) exposes ``bench_cases(quick)``
returning a list of :class:`BenchCase`. Speed is reported as ratios against a reference run in the
same process, never as an absolute time in a test.

Two references answer two questions. ``reference`` (typically the idiomatic NumPy twin) says how
much the fast path gains over the obvious alternative. ``limit`` names a *minimum-work* candidate:
the random draws and transcendental functions the model cannot avoid, in the fast path's parallel
layout, and nothing else; ``t_limit / t_kernel`` is the fraction of the machine's practical ceiling
the kernel (``kernel``) reaches. A kernel at 100% would spend no time on anything but that work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["BenchCase", "with_threads"]


@dataclass(frozen=True)
class BenchCase:
    """A fast path and the implementations it is compared with, on the same work.

    ``work`` is the number of ``unit`` items one call processes (e.g. 1e6 rollouts), so the
    harness reports throughput; ``candidates`` maps labels to zero-argument callables; the ratio of
    every candidate is taken against ``reference``. ``setup`` runs once before timing (compilation).
    ``kernel`` names the fast path the targets judge and ``limit`` its minimum-work reference (both
    optional; the harness then reports ``t_limit / t_kernel``). ``serial`` names the same kernel on
    one thread, so a report shows whether the parallel path ever falls below it (shared cores).
    """

    name: str
    unit: str
    work: float
    candidates: Mapping[str, Callable[[], object]]
    reference: str
    note: str = ""
    setup: Callable[[], object] | None = None
    targets: Mapping[str, str] = field(default_factory=dict)  # label -> stated target, e.g. ">= 5x"
    kernel: str | None = None
    limit: str | None = None
    serial: str | None = None

    def __post_init__(self):
        for role in ("reference", "kernel", "limit", "serial"):
            label = getattr(self, role)
            if (label is not None or role == "reference") and label not in self.candidates:
                raise ValueError(f"{role} must be one of the candidate labels {sorted(self.candidates)}; "
                                 f"got {label!r}")
        if self.limit is not None and self.kernel is None:
            raise ValueError("a case with a limit must name its kernel")
        if self.work <= 0:
            raise ValueError("work must be > 0")


def with_threads(n: int, fn: Callable[[], object]) -> object:
    """Call ``fn()`` with Numba's thread count set to ``n`` (a case's one-thread candidate)."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return fn()
    finally:
        numba.set_num_threads(before)


def bench_cases(quick: bool = False) -> list[BenchCase]:
    """The registry's own case: the compiled batch kernel against the same kernel interpreted."""
    import numpy as np

    from theory.advantage_kernels import advantages_batch
    from theory.estimators import advantage_row, keep_row, resolve

    p, g = (512, 16) if quick else (4096, 16)
    rewards = (np.random.default_rng(0).random((p, g)) < 0.3).astype(np.float64)  # (P, G)
    spec = resolve("grpo")
    out = np.empty_like(rewards)
    keep = np.empty(p, dtype=np.bool_)

    def compiled():
        advantages_batch(spec.code, rewards, spec.params, out, keep)

    def interpreted():
        for i in range(p):
            advantage_row.py_func(spec.code, rewards[i], spec.params, out[i])
            keep[i] = keep_row.py_func(spec.code, rewards[i])

    return [BenchCase(name="registry grpo advantages", unit="groups", work=p,
                      candidates={"numba kernel": compiled, "same kernel, interpreted": interpreted},
                      reference="same kernel, interpreted", setup=compiled,
                      note=f"{p} binary groups of {g}; the kernel every simulator calls")]

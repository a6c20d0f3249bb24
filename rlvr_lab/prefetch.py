"""A second process that computes figures from the END of ``reproduce``'s list while it works from the start.

On a first run most of ``reproduce``'s time is Numba compiling the simulators, one kernel at a
time in one process. The helper compiles and computes the last figures meanwhile and writes their
data where ``reproduce`` looks for them (``data/<name>.json``, keyed as always), so when the two
meet, what is left is already done. 2 cores, one run each (2026-12-01): fast profile with a cold
Numba cache 126 -> 72 s, warm 33 -> 26 s; ``--full`` (warm) 199 -> 178 s, the helper computing
18 of the 32 figures. Both processes run the same code on the same inputs, so the data are
the same bytes whichever computed them (tests/test_cli.py checks the claims against a run without
the helper).

A figure is computed by one process only. A shared array holds each figure's state; under its lock
the main process claims the next figure from the front and the helper from the back, and the helper
stops at the first figure already claimed. When the main process reaches a figure the helper is
still computing, it waits for it. A figure whose computation failed in the helper is computed again
by the main process, which reports the error as usual. The helper exits when the main process does
(Ctrl-C, an error, or the end), and by itself between figures if its parent is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

__all__ = ["Prefetcher"]

FREE, MAIN, HELPER, COMPUTED, REUSED, FAILED = range(6)


def _helper(names, out, seed, full, inputs_dir, fresh, state, parent):
    """The helper process: figures from the back, until one is claimed by the main process."""
    import sys

    sys.stdout = sys.stderr = open(os.devnull, "w")  # quiet: the main process reports every figure
    from figures.registry import all_figures
    from figures.runner import context, ensure_data

    by_name = {f.name: f for f in all_figures()}
    try:
        for i in reversed(range(len(names))):
            if os.getppid() != parent:
                return
            with state.get_lock():
                if state[i] != FREE:
                    return
                state[i] = HELPER
            try:
                fig = by_name[names[i]]  # KeyError for a figure registered at run time in the main process
                ctx = context(fig, seed=seed, full=full, inputs_dir=inputs_dir,
                              cache_dir=Path(out) / "cache" / fig.name)
                done = REUSED if ensure_data(fig, ctx, out, fresh=fresh)[1] else COMPUTED
            except Exception:  # the main process computes it again and reports the error
                done = FAILED
            with state.get_lock():
                state[i] = done
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the main process reports it
        return


class Prefetcher:
    """Starts the helper for ``figs`` (at least two); :meth:`claim` before each figure, :meth:`close` at the end."""

    def __init__(self, figs, *, out: Path, seed: int, full: bool, inputs_dir, fresh: bool):
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked Numba threads or locks
        self._state = ctx.Array("b", len(figs))
        self._index = {f.name: i for i, f in enumerate(figs)}
        self._proc = ctx.Process(target=_helper, daemon=True, name="rlvr-lab prefetch",
                                 args=([f.name for f in figs], str(out), seed, full, inputs_dir, fresh, self._state,
                                       os.getpid()))
        self._proc.start()

    def claim(self, name: str) -> str | None:
        """Claim figure ``name`` for the main process. Returns None if it is the main process's to
        compute, else "computed" or "reused": what the helper did (the data are then on disk under
        the current key), after waiting for it if the helper is still at work on it."""
        i = self._index[name]
        while True:
            with self._state.get_lock():
                s = self._state[i]
                if s in (FREE, FAILED) or (s == HELPER and not self._proc.is_alive()):  # killed mid-figure
                    self._state[i] = MAIN
                    return None
            if s in (COMPUTED, REUSED):
                return "computed" if s == COMPUTED else "reused"
            time.sleep(0.05)

    def close(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=10)

"""Kernelized advantage estimation (KAE, paper C): the stateful entry of the estimator registry.

The baseline of trace g of prompt x at iteration i is a leave-one-out Nadaraya-Watson estimate
over the iteration index of that prompt's reward history H_i(x) = {(I_j, Z_j)} [V, paper C, C.3]:

    V_hat_g = [ sum_j K((i - I_j)/(i h)) Z_j + K(0) sum_{k != g} Z_k ] / M,
    M       =   sum_j K((i - I_j)/(i h))     + K(0) (G - 1),
    A_g     = Z_g - V_hat_g.

Kernels [V]: triangular K(u) = max(1 - u, 0) (main) and exponential K(u) = decay^|u|.
Choices the notes leave open [R], stated here:
- M = 0 (G = 1 and no history in the window): the baseline is 0, so A = Z (plain REINFORCE).
- Rows of one call are processed in order; each pushes its rewards at iteration i after its own
  advantages are computed, so a prompt repeated within a batch sees the earlier copy with u = 0.
- The history is a ring buffer of ``capacity`` entries per prompt (the oldest are overwritten);
  the triangular kernel only reads the last fraction h of training anyway.

Use (through the registry; the history is the entry's state, JSON round-trip, never pickled)::

    hist = new_state("kae", capacity=4096)
    A = advantages("kae", rewards, prompt_ids=ids, step=i, state=hist, bandwidth=0.2)
    saved = hist.to_dict(); hist = state_from_dict("kae", saved)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from theory.checks import (as_real_array, bool_option, check_int, choice_option, int_option,
                           real_option)

__all__ = ["KernelHistory", "kae_row", "OPTIONS", "advantages", "new_history"]

TRIANGULAR, EXPONENTIAL = 0, 1
KERNELS = {"triangular": TRIANGULAR, "exponential": EXPONENTIAL}
#: The registry entry's options and domains (validated by theory.estimators before any call here).
#: ``capacity`` sizes a new history (new_state); estimate() accepts and ignores it.
OPTIONS = {"bandwidth": real_option(0.2, low=0.0, open_low=True),
           "kernel": choice_option("triangular", tuple(KERNELS)),
           "decay": real_option(0.5, low=0.0, high=1.0, open_low=True, open_high=True),
           "update": bool_option(True),
           "capacity": int_option(4096, low=1)}
_FORMAT = "theory.kae.KernelHistory/1"


@njit(cache=True)
def _kernel(kernel_code, u, decay):
    if kernel_code == TRIANGULAR:
        return max(1.0 - u, 0.0)
    return decay ** abs(u)


@njit(cache=True)
def kae_row(r, step, h_iter, h_reward, n_hist, bandwidth, kernel_code, decay, out):
    """KAE advantages of one group ``r`` (G,) at iteration ``step`` >= 1 given ``n_hist`` history entries."""
    num = 0.0
    den = 0.0
    scale = step * bandwidth
    for j in range(n_hist):
        k = _kernel(kernel_code, (step - h_iter[j]) / scale, decay)
        num += k * h_reward[j]
        den += k
    g = r.shape[0]
    total = 0.0
    for k in range(g):
        total += r[k]
    k0 = _kernel(kernel_code, 0.0, decay)
    for k in range(g):
        m = den + k0 * (g - 1)
        out[k] = r[k] - (num + k0 * (total - r[k])) / m if m > 0.0 else r[k]


@njit(cache=True)
def _push(r, step, h_iter, h_reward, count):
    cap = h_iter.shape[0]
    for k in range(r.shape[0]):
        pos = (count + k) % cap
        h_iter[pos] = step
        h_reward[pos] = r[k]
    return count + r.shape[0]


class KernelHistory:
    """Per-prompt reward history (iteration index, reward) in fixed-capacity ring buffers."""

    def __init__(self, capacity: int = 4096):
        self.capacity = check_int("capacity", capacity, low=1)
        self._slot: dict = {}
        self.iters = np.zeros((0, self.capacity), dtype=np.float64)
        self.rewards = np.zeros((0, self.capacity), dtype=np.float64)
        self.count = np.zeros(0, dtype=np.int64)

    def slot(self, prompt_id) -> int:
        """Row of ``prompt_id`` in the buffers (allocated on first sight)."""
        if prompt_id not in self._slot:
            n = len(self._slot)
            if n == self.iters.shape[0]:
                grow = max(8, n)
                self.iters = np.vstack([self.iters, np.zeros((grow, self.capacity))])
                self.rewards = np.vstack([self.rewards, np.zeros((grow, self.capacity))])
                self.count = np.concatenate([self.count, np.zeros(grow, dtype=np.int64)])
            self._slot[prompt_id] = n
        return self._slot[prompt_id]

    def __len__(self) -> int:
        return len(self._slot)

    def to_dict(self) -> dict:
        """JSON-able snapshot (ids, and per prompt its filled ring-buffer entries and push count).

        Prompt ids must be ints or strings (JSON keys of a training run's prompt pool).
        """
        ids = list(self._slot)
        for pid in ids:
            if isinstance(pid, bool) or not isinstance(pid, (int, str)):
                raise ValueError(f"prompt ids must be int or str to serialise a KernelHistory; got {pid!r}")
        rows = [self._slot[pid] for pid in ids]
        fill = [int(min(self.count[s], self.capacity)) for s in rows]
        return {"format": _FORMAT, "capacity": self.capacity, "ids": ids,
                "count": [int(self.count[s]) for s in rows],
                "iters": [self.iters[s, :n].tolist() for s, n in zip(rows, fill)],
                "rewards": [self.rewards[s, :n].tolist() for s, n in zip(rows, fill)]}

    @classmethod
    def from_dict(cls, data) -> "KernelHistory":
        """Inverse of :meth:`to_dict`; ``ValueError`` naming the field for anything malformed."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"state must be a dict written by KernelHistory.to_dict (format {_FORMAT!r})")
        hist = cls(check_int("state capacity", data.get("capacity"), low=1))
        ids, count, iters, rewards = (data.get(k) for k in ("ids", "count", "iters", "rewards"))
        if not all(isinstance(x, list) for x in (ids, count, iters, rewards)) or not (
                len(ids) == len(count) == len(iters) == len(rewards)):
            raise ValueError("state ids, count, iters and rewards must be lists of equal length")
        if len(set(ids)) != len(ids):
            raise ValueError("state ids must be distinct")
        for pid, c, it, rw in zip(ids, count, iters, rewards):
            c = check_int("state count", c, low=0)
            n = min(c, hist.capacity)
            it = as_real_array("state iters", it)
            rw = as_real_array("state rewards", rw)
            if it.shape != (n,) or rw.shape != (n,) or not (np.all(np.isfinite(it)) and np.all(np.isfinite(rw))):
                raise ValueError(f"state of prompt {pid!r} must hold min(count, capacity) = {n} finite entries")
            s = hist.slot(pid)
            hist.iters[s, :n], hist.rewards[s, :n], hist.count[s] = it, rw, c
        return hist


def new_history(*, capacity=4096, **_options) -> KernelHistory:
    """The entry's ``make_state``: an empty history (the other options do not shape it)."""
    return KernelHistory(capacity)


def advantages(rewards: np.ndarray, *, prompt_ids, step, state, bandwidth=0.2, kernel="triangular",
               decay=0.5, update=True, capacity=None) -> np.ndarray:
    """KAE advantages of validated ``rewards`` (P, G); pushes the rewards into ``state`` if ``update``.

    Options arrive validated by the registry; ``capacity`` belongs to the state (ignored here).
    """
    if not isinstance(state, KernelHistory):
        raise ValueError("state must be a theory.kae.KernelHistory (new_state('kae') or state_from_dict)")
    step = check_int("step", step, low=1)
    code = KERNELS[kernel]
    ids = np.asarray(prompt_ids).tolist() if not isinstance(prompt_ids, (list, tuple)) else list(prompt_ids)
    if not isinstance(ids, list) or len(ids) != rewards.shape[0]:
        raise ValueError(f"prompt_ids must have one id per row of rewards ({rewards.shape[0]}); got {ids!r}")
    for pid in ids:
        try:
            hash(pid)
        except TypeError:
            raise ValueError(f"prompt_ids must be hashable ids (int or str); got {pid!r}") from None
    history = state
    out = np.empty_like(rewards)
    for p, pid in enumerate(ids):
        s = history.slot(pid)
        n = int(min(history.count[s], history.capacity))
        kae_row(rewards[p], step, history.iters[s], history.rewards[s], n, bandwidth, code, decay, out[p])
        if update:
            history.count[s] = _push(rewards[p], float(step), history.iters[s], history.rewards[s], history.count[s])
    return out

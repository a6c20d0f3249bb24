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

Use (the registry passes these options through ``advantages("kae", rewards, ...)``)::

    hist = KernelHistory()
    A = advantages("kae", rewards, prompt_ids=ids, step=i, history=hist, bandwidth=0.2)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from theory.checks import check_choice, check_int, check_real

__all__ = ["KernelHistory", "kae_row", "OPTIONS", "advantages"]

TRIANGULAR, EXPONENTIAL = 0, 1
KERNELS = {"triangular": TRIANGULAR, "exponential": EXPONENTIAL}
OPTIONS = {"prompt_ids": None, "step": None, "history": None, "bandwidth": 0.2,
           "kernel": "triangular", "decay": 0.5, "update": True}


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


def advantages(rewards: np.ndarray, *, prompt_ids=None, step=None, history=None, bandwidth=0.2,
               kernel="triangular", decay=0.5, update=True) -> np.ndarray:
    """KAE advantages of validated ``rewards`` (P, G); pushes the rewards into ``history`` if ``update``."""
    if history is None or not isinstance(history, KernelHistory):
        raise ValueError("history must be a theory.kae.KernelHistory (the per-prompt reward state)")
    step = check_int("step", step, low=1)
    bandwidth = check_real("bandwidth", bandwidth, low=0.0, open_low=True)
    code = KERNELS[check_choice("kernel", kernel, KERNELS)]
    decay = check_real("decay", decay, low=0.0, high=1.0, open_low=True, open_high=True)
    ids = list(range(rewards.shape[0])) if prompt_ids is None else list(np.asarray(prompt_ids).tolist())
    if len(ids) != rewards.shape[0]:
        raise ValueError(f"prompt_ids must have one id per row of rewards ({rewards.shape[0]}); got {len(ids)}")
    out = np.empty_like(rewards)
    for p, pid in enumerate(ids):
        s = history.slot(pid)
        n = int(min(history.count[s], history.capacity))
        kae_row(rewards[p], step, history.iters[s], history.rewards[s], n, bandwidth, code, decay, out[p])
        if update:
            history.count[s] = _push(rewards[p], float(step), history.iters[s], history.rewards[s], history.count[s])
    return out

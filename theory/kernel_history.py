"""Paper C: the KAE registry entry's state, a per-prompt reward history in ring buffers.

Each prompt seen gets a row of ``capacity`` (iteration, reward) entries; pushes wrap around, so
the last ``capacity`` rewards are kept (the triangular kernel reads only the last fraction h of
training anyway). The state round-trips through JSON (``to_dict``/``from_dict``), never pickle;
the registry hands it out as ``new_state("kae")`` / ``state_from_dict("kae", d)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from theory.checks import as_real_array, check_int

__all__ = ["KernelHistory"]

# The serialised format's identifier: kept from before the fold of theory/kae.py into
# theory/kernel.py so that saved trainer states stay readable.
_FORMAT = "theory.kae.KernelHistory/1"


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

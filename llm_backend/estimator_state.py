"""What the trainer hands a registry estimator besides the rewards, and its state as JSON (no pickle).

An estimator declares what it needs; the trainer supplies it without knowing names:

- registry v2 (``theory.estimators`` with ``new_state``): ``entry.needs`` is a subset of
  {"prompt_ids", "step", "state"}, ``new_state(name, **options)`` makes the state and
  ``state.to_dict()`` / ``state_from_dict(name, d)`` store and restore it;
- the current registry: an estimator needs what appears among its declared ``options``
  (``prompt_ids``, ``step``, ``history``), and the state of ``kae`` is a ``theory.kae.KernelHistory``
  stored by the adapter below.

Switching to v2 only removes the fallback branches here (every caller goes through these
functions). State files are JSON: loading one can never execute code.

Example::

    >>> st = new_state("kae")
    >>> extras = estimator_extras("kae", [3, 5], step=1, state=st)
    >>> sorted(extras)
    ['history', 'prompt_ids', 'step']
    >>> state_to_dict("grpo", None) is None
    True
"""

from __future__ import annotations

import numpy as np

from theory import estimators as _est

__all__ = ["needs", "new_state", "estimator_extras", "state_to_dict", "state_from_dict", "check_estimator"]

_V2 = hasattr(_est, "new_state") and hasattr(_est, "state_from_dict")


def needs(name: str) -> frozenset:
    """What estimator ``name`` needs from the trainer: subset of {"prompt_ids", "step", "state"}."""
    entry = _est.ESTIMATORS[name]
    if hasattr(entry, "needs"):
        return frozenset(entry.needs)
    declared = set(entry.options)
    out = {k for k in ("prompt_ids", "step") if k in declared}
    return frozenset(out | ({"state"} if "history" in declared else set()))


def new_state(name: str, **options):
    """A fresh state for a stateful estimator, None for a stateless one."""
    if _V2:
        return _est.new_state(name, **options)
    if "state" not in needs(name):
        return None
    from theory.kae import KernelHistory

    return KernelHistory()


def estimator_extras(name: str, prompt_ids, step: int, state) -> dict:
    """Keyword arguments the trainer adds to ``estimate(name, rewards, **options, **extras)``."""
    need = needs(name)
    extra = {}
    if "prompt_ids" in need:
        extra["prompt_ids"] = np.asarray(prompt_ids)
    if "step" in need:
        extra["step"] = int(step)
    if "state" in need:
        extra["state" if _V2 else "history"] = state
    return extra


def state_to_dict(name: str, state) -> dict | None:
    """A JSON-able dict of ``state`` (None for stateless estimators)."""
    if state is None:
        return None
    if hasattr(state, "to_dict"):
        return state.to_dict()
    # KernelHistory (current registry): only the filled part of each ring buffer
    slots = sorted(state._slot.items(), key=lambda kv: kv[1])
    rows = []
    for pid, s in slots:
        n = int(min(state.count[s], state.capacity))
        rows.append({"prompt_id": pid, "count": int(state.count[s]), "iters": state.iters[s, :n].tolist(),
                     "rewards": state.rewards[s, :n].tolist()})
    return {"type": "KernelHistory", "capacity": int(state.capacity), "slots": rows}


def state_from_dict(name: str, d):
    """The state stored by :func:`state_to_dict` (None stays None); ValueError on a malformed dict."""
    if d is None:
        return None
    if _V2:
        return _est.state_from_dict(name, d)
    from theory.kae import KernelHistory

    try:
        if d.get("type") != "KernelHistory":
            raise KeyError("type")
        h = KernelHistory(capacity=int(d["capacity"]))
        for row in d["slots"]:
            s = h.slot(row["prompt_id"])
            n = len(row["iters"])
            if n != len(row["rewards"]) or n > h.capacity:
                raise KeyError("iters/rewards")
            h.iters[s, :n] = row["iters"]
            h.rewards[s, :n] = row["rewards"]
            h.count[s] = int(row["count"])
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"estimator state for {name!r} is malformed ({err}); it must be the dict that "
                         "state_to_dict wrote") from None
    return h


def check_estimator(name: str, options: dict) -> None:
    """Validate ``name`` and its ``options`` exactly as training will use them, on a dummy batch.

    Runs the registry itself (no copy of its rules) on rewards [[1, 0]] with the trainer's extras,
    so an unknown option or an out-of-range value raises the registry's ``ValueError`` before any
    model is loaded.
    """
    if name not in _est.ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(_est.ESTIMATORS)}; got {name!r}")
    reserved = {"prompt_ids", "step", "history", "state"} & set(options)
    if reserved:
        raise ValueError(f"estimator_options must not set {sorted(reserved)}: the trainer supplies them")
    unknown = sorted(set(options) - set(_est.ESTIMATORS[name].options))
    if unknown:  # the entry's declared options (the current kae raises TypeError instead)
        accepted = sorted(set(_est.ESTIMATORS[name].options) - {"prompt_ids", "step", "history", "state"})
        raise ValueError(f"estimator_options: unknown option(s) {unknown} for estimator {name!r}; accepted: "
                         f"{accepted or 'none'}")
    state = new_state(name, **options) if _V2 else new_state(name)
    _est.estimate(name, np.array([[1.0, 0.0]]), **options, **estimator_extras(name, [0], 1, state))

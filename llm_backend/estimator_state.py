"""What the trainer hands a registry estimator besides the rewards, and its state as JSON (no pickle).

An estimator declares what it needs; the trainer supplies it without knowing names: ``entry.needs``
(``theory.estimators``) is a subset of {"prompt_ids", "step", "state"}, ``new_state(name, **options)``
makes the state and ``state.to_dict()`` / ``state_from_dict(name, d)`` store and restore it. State
files are JSON: loading one can never execute code.

Example::

    >>> st = new_state("kae")
    >>> extras = estimator_extras("kae", [3, 5], step=1, state=st)
    >>> sorted(extras)
    ['prompt_ids', 'state', 'step']
    >>> state_to_dict("grpo", None) is None
    True
"""

from __future__ import annotations

import numpy as np

from theory import estimators as _est

__all__ = ["needs", "new_state", "estimator_extras", "state_to_dict", "state_from_dict", "check_estimator"]


def needs(name: str) -> frozenset:
    """What estimator ``name`` needs from the trainer: subset of {"prompt_ids", "step", "state"}."""
    return frozenset(_est.ESTIMATORS[name].needs)


def new_state(name: str, **options):
    """A fresh state for a stateful estimator, None for a stateless one."""
    return _est.new_state(name, **options)


def estimator_extras(name: str, prompt_ids, step: int, state) -> dict:
    """Keyword arguments the trainer adds to ``estimate(name, rewards, **options, **extras)``."""
    need = needs(name)
    extra = {}
    if "prompt_ids" in need:
        extra["prompt_ids"] = np.asarray(prompt_ids)
    if "step" in need:
        extra["step"] = int(step)
    if "state" in need:
        extra["state"] = state
    return extra


def state_to_dict(name: str, state) -> dict | None:
    """A JSON-able dict of ``state`` (None for stateless estimators)."""
    return None if state is None else state.to_dict()


def state_from_dict(name: str, d):
    """The state stored by :func:`state_to_dict` (None stays None); ValueError on a malformed dict."""
    return _est.state_from_dict(name, d)


def check_estimator(name: str, options: dict) -> None:
    """Validate ``name`` and its ``options`` exactly as training will use them, on a dummy batch.

    Runs the registry itself (no copy of its rules) on rewards [[1, 0]] with the trainer's extras,
    so an unknown option or an out-of-range value raises the registry's ``ValueError`` before any
    model is loaded.
    """
    if name not in _est.ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(_est.ESTIMATORS)}; got {name!r}")
    reserved = {"prompt_ids", "step", "state"} & set(options)
    if reserved:
        raise ValueError(f"estimator_options must not set {sorted(reserved)}: the trainer supplies them")
    state = new_state(name, **options)
    _est.estimate(name, np.array([[1.0, 0.0]]), **options, **estimator_extras(name, [0], 1, state))

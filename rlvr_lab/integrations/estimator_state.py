"""The registry calls the framework adapters make, and the JSON file of a stateful estimator's state.

Registry v2 (COMMON.md contract 1): ``new_state(name, **options)``, ``state.to_dict()``,
``state_from_dict(name, d)`` and ``estimate(name, rewards, prompt_ids=, step=, state=, **options)``.
The adapters only go through this module, so they never touch estimator internals.

The state file is plain JSON (no pickle: nothing loaded from disk can execute code)::

    {"format": "rlvr_lab.estimator_state/1", "estimator": "kae", "options": {...},
     "step": 12, "state": {...}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from llm_backend.results import atomic_write_text
from theory import estimators as _est

__all__ = ["RESERVED", "prompt_digest", "is_stateful", "new_state", "state_to_dict", "state_from_dict", "estimate",
           "validate", "save_json", "load_json", "FORMAT"]

RESERVED = frozenset({"prompt_ids", "step", "state", "history", "update"})  # supplied by the adapter
FORMAT = "rlvr_lab.estimator_state/1"


def prompt_digest(prompt) -> str:
    """Stable id of a prompt: 16 hex digits of SHA-256 of its text, or of its messages as canonical JSON.

    Never Python's ``hash()``, which differs between processes.

    >>> prompt_digest("What is 2 + 3?")
    '1ea26256ebae2e04'
    """
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False,
                                                             default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_stateful(name: str) -> bool:
    """Whether estimator ``name`` keeps state across steps (``ValueError`` for an unknown name)."""
    if name not in _est.ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(_est.ESTIMATORS)}; got {name!r}")
    return bool(_est.ESTIMATORS[name].stateful)


def validate(name: str, options: dict) -> dict:
    """Check ``options`` for ``name`` before any expensive work; return them as a plain dict.

    Runs the estimator once on a two-rollout group (with a throw-away state), so every option value
    is checked by the registry itself.
    """
    options = dict(options or {})
    reserved = sorted(RESERVED & set(options))
    if reserved:
        raise ValueError(f"estimator_options must not set {reserved}: the trainer supplies them")
    probe = np.array([[0.0, 1.0]])
    if is_stateful(name):
        estimate(name, probe, options, prompt_ids=["probe"], step=1, state=new_state(name, **options))
    else:
        _est.estimate(name, probe, **options)
    return options


def new_state(name: str, **options):
    """A fresh state for a stateful estimator; None for a stateless one."""
    is_stateful(name)
    return _est.new_state(name, **options)


def estimate(name: str, rewards, options: dict, *, prompt_ids=None, step=None, state=None, update=True):
    """``theory.estimators.estimate`` with the adapter-supplied arguments; ``update=False`` is read-only."""
    if not is_stateful(name):
        return _est.estimate(name, rewards, **options)
    if not update:
        if "update" in _est.ESTIMATORS[name].options:
            options = {**options, "update": False}
        else:  # a read-only call on a copy
            state = state_from_dict(name, state_to_dict(name, state))
    return _est.estimate(name, rewards, prompt_ids=prompt_ids, step=step, state=state, **options)


def state_to_dict(name: str, state) -> dict:
    """JSON-able form of ``state`` (the registry's ``state.to_dict()``)."""
    is_stateful(name)
    return None if state is None else state.to_dict()


def state_from_dict(name: str, d):
    """Inverse of :func:`state_to_dict` (``ValueError`` on a malformed dict)."""
    return _est.state_from_dict(name, d)


def save_json(path, name: str, options: dict, step: int, state) -> None:
    """Write the state file atomically (temporary file, then rename)."""
    path = Path(path)
    doc = {"format": FORMAT, "estimator": name, "options": options, "step": int(step),
           "state": state_to_dict(name, state)}
    atomic_write_text(path, json.dumps(doc))


def load_json(path, name: str):
    """Read a state file written by :func:`save_json` for estimator ``name``: (step, state)."""
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not an rlvr-lab estimator state (format {doc.get('format')!r})")
    if doc.get("estimator") != name:
        raise ValueError(f"{path}: holds the state of estimator {doc.get('estimator')!r}, not {name!r}")
    return int(doc["step"]), state_from_dict(name, doc["state"])

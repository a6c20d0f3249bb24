"""Registry advantages for a flat batch of rollouts labelled by group: what every framework adapter calls.

The frameworks hand over one scalar reward per rollout and a group label (TRL: contiguous blocks of
``num_generations``; verl: a uid per rollout, in any order, groups of uneven size). This module
regroups them, calls :func:`theory.estimators.estimate` (the one definition of every estimator) and
scatters the advantages back:

    A_k = estimate(name, R_g, ...).advantages[i]   for rollout k = member i of group g,
    A_k = 0                                        if r_k is NaN (no reward function answered),
    A_k = 0                                        if the estimator drops group g (dapo's keep-mask).

NaN rows are handled as TRL does: they are left out of their group's baseline and statistics
(the group is estimated on its scorable members only, so it may shrink to a singleton, which then
follows the estimator's ``singleton`` rule) and get advantage 0. A group with no scorable member
gets 0 throughout. Groups are estimated in order of first appearance; groups of equal scorable
size go to the registry in one call (stateless estimators do not depend on row order; a stateful
one is called in that order, so a prompt repeated within a batch sees its earlier copy, as in
``theory.kae``).

Registry contract: the stateful part (``new_state``/``to_dict``/``state_from_dict``) lives in
:mod:`rlvr_lab.integrations.estimator_state`, which bridges the current registry and v2.

Example::

    >>> import numpy as np
    >>> r = np.array([0.0, 0.0, 1.0, 0.0, np.nan, 1.0])
    >>> grouped_advantages("rloo", r, ["a", "a", "b", "b", "b", "a"]).advantages.round(3).tolist()
    [-0.5, -0.5, 1.0, -1.0, 0.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlvr_lab.integrations import estimator_state as _state
from theory.estimators import ESTIMATORS

__all__ = ["Grouped", "grouped_advantages", "check_unit_interval"]


@dataclass(frozen=True)
class Grouped:
    """Flat advantages (N,) float64 and, per group in order of first appearance, its label and keep flag."""

    advantages: np.ndarray
    labels: list
    keep: np.ndarray


def check_unit_interval(name: str, rewards: np.ndarray, *, where: str = "") -> None:
    """Raise ``ValueError`` when estimator ``name`` needs rewards in [0, 1] and a finite one is outside."""
    entry = ESTIMATORS[name]
    if not getattr(entry, "unit_interval", False):
        return
    finite = rewards[np.isfinite(rewards)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise ValueError(
            f"estimator {name!r} needs rewards in [0, 1] (its weight w(rho_hat) is defined on a success "
            f"rate); {where}got rewards in [{finite.min():g}, {finite.max():g}]. Rescale the reward "
            "(or its weights) to [0, 1], or use a centred estimator such as grpo, rloo or dr_grpo")


def _labels_in_order(group_ids):
    """Group index per row (N,) and the labels in order of first appearance."""
    order: dict = {}
    idx = np.empty(len(group_ids), dtype=np.int64)
    for k, g in enumerate(group_ids):
        key = g.item() if isinstance(g, np.generic) else g
        if key not in order:
            order[key] = len(order)
        idx[k] = order[key]
    return idx, list(order)


def grouped_advantages(name: str, rewards, group_ids, *, options: dict | None = None, prompt_ids=None,
                       step: int | None = None, state=None, update: bool = True) -> Grouped:
    """Advantages (N,) of estimator ``name`` for flat ``rewards`` (N,) labelled by ``group_ids`` (N,).

    ``rewards`` may hold NaN (unscorable rows, advantage 0); infinities raise ``ValueError``.
    ``prompt_ids`` (one per group, in order of first appearance), ``step`` and ``state`` are passed to
    stateful estimators only; ``update=False`` leaves their state untouched (evaluation).
    """
    r = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if len(group_ids) != r.shape[0]:
        raise ValueError(f"group_ids must have one label per reward ({r.shape[0]}); got {len(group_ids)}")
    if np.isinf(r).any():
        raise ValueError("rewards must be finite or NaN (unscorable); got an infinite reward")
    check_unit_interval(name, r)
    idx, labels = _labels_in_order(group_ids)
    n_groups = len(labels)
    stateful = _state.is_stateful(name)
    if stateful:
        if prompt_ids is None or len(prompt_ids) != n_groups:
            got = None if prompt_ids is None else len(prompt_ids)
            raise ValueError(f"prompt_ids must hold one id per group ({n_groups}) for stateful estimator "
                             f"{name!r}; got {got}")
    members = [[] for _ in range(n_groups)]
    for k in np.flatnonzero(~np.isnan(r)):
        members[idx[k]].append(k)
    out = np.zeros_like(r)
    keep = np.ones(n_groups, dtype=np.bool_)
    sizes = np.array([len(m) for m in members])
    if stateful and len(set(sizes[sizes > 0].tolist())) > 1:
        batches = [[g] for g in range(n_groups) if sizes[g] > 0]  # one call per group keeps the order
    else:
        batches = [[g for g in range(n_groups) if sizes[g] == s] for s in sorted(set(sizes[sizes > 0].tolist()))]
    for batch in batches:
        rows = np.array([members[g] for g in batch])  # (B, s) indices into r
        ids = [prompt_ids[g] for g in batch] if stateful else None
        est = _state.estimate(name, r[rows], options or {}, prompt_ids=ids, step=step, state=state, update=update)
        out[rows] = np.where(est.keep[:, None], est.advantages, 0.0)
        keep[batch] = est.keep
    return Grouped(out, labels, keep)

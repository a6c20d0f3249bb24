"""verl advantage estimators ``rlvr_<name>`` for every stateless estimator of the rlvr-lab registry.

verl (checked against 0.9) looks estimators up by name in ``ADV_ESTIMATOR_REGISTRY`` and calls them
with keyword arguments ``token_level_rewards`` (bs, T), ``response_mask`` (bs, T), ``index`` (bs,
uids: one per prompt group, any order, groups of uneven size) and ``config`` (the ``algorithm``
config). The adapter, :func:`compute_advantage`, is a pure function of those tensors:

    r_k   = sum_t token_level_rewards[k, t]                        (verl's scalar score)
    a     = grouped_advantages(name, r, index, options)            (theory.estimators, one definition)
    A[k, t] = returns[k, t] = a_k * response_mask[k, t]            (as verl's grpo/rloo return them)

with ``options`` read from ``config.rlvr_lab`` (``+algorithm.rlvr_lab.rho_star=0.3`` on verl's
command line). Singleton groups follow the registry's ``singleton`` option (default "raw": verl's
grpo/rloo give a lone rollout its raw score).

Loading: ``pyproject.toml`` declares this module under the entry-point group ``verl.plugins``;
verl 0.9 imports every such entry point on ``import verl``, and importing this module registers
the estimators. verl logs a failing plug-in only at DEBUG, so ``rlvr-lab integrations check``
says what got registered. Without verl installed the module still imports (the adapter is usable
and testable on its own).

What verl cannot take:

- ``kae`` (stateful): verl gives every prompt a fresh uid each step and passes no step index, so
  there is no per-prompt history to keep. Use the TRL integration or rlvr-lab's trainer.
- verl v1's agent loop special-cases its own ``grpo`` for multi-turn sessions (only a session's
  final output joins the group); ``rlvr_*`` estimators go through the generic path, which treats
  every row as a group member, so they are for single-turn rollouts.
- ``dapo``'s group filtering is not an advantage: in verl use ``rlvr_grpo`` (or verl's ``grpo``) with
  ``algorithm.filter_groups.enable=True`` (verl's own dynamic sampling). ``rlvr_dapo`` is therefore
  not registered.

Example (verl command line)::

    python -m verl.trainer.main_ppo algorithm.adv_estimator=rlvr_plateau_r +algorithm.rlvr_lab.rho_star=0.3 ...
"""

from __future__ import annotations

import numpy as np

from rlvr_lab.integrations.grouped import grouped_advantages
from theory.estimators import ESTIMATORS

__all__ = ["PREFIX", "registrable", "compute_advantage", "options_from_config", "register", "registered",
           "UNSUPPORTED"]

PREFIX = "rlvr_"
UNSUPPORTED = {
    "kae": "stateful: verl gives prompts a fresh uid every step and passes no step index",
    "dapo": "group filtering is verl's algorithm.filter_groups (use rlvr_grpo or grpo with it)",
}


def registrable() -> list[str]:
    """Registry names that verl can take: stateless and not filtering groups."""
    return sorted(n for n, e in ESTIMATORS.items()
                  if not e.stateful and not getattr(e, "filters_groups", False))


def options_from_config(config) -> dict:
    """Estimator options from ``config.rlvr_lab`` (AlgoConfig, OmegaConf DictConfig, dict or None)."""
    if config is None:
        return {}
    sub = config.get("rlvr_lab", None) if hasattr(config, "get") else getattr(config, "rlvr_lab", None)
    if sub is None:
        return {}
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(sub):
            sub = OmegaConf.to_container(sub, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf comes with verl
        pass
    if not isinstance(sub, dict):
        raise ValueError(f"algorithm.rlvr_lab must be a mapping of estimator options; got {type(sub).__name__}")
    return dict(sub)


def compute_advantage(name: str, token_level_rewards, response_mask, index, options: dict | None = None):
    """verl's ``(advantages, returns)``, both (bs, T) torch tensors, for registry estimator ``name``
    (see the module docstring)."""
    import torch  # verl runs on torch; the rest of this module does not need it

    if name not in registrable():
        why = UNSUPPORTED.get(name, "not a registry estimator")
        raise ValueError(f"estimator {name!r} cannot be used in verl ({why}); usable: {registrable()}")
    if token_level_rewards.ndim != 2 or response_mask.shape != token_level_rewards.shape:
        raise ValueError(f"token_level_rewards and response_mask must both be (bs, T); got "
                         f"{tuple(token_level_rewards.shape)} and {tuple(response_mask.shape)}")
    index = np.asarray(index, dtype=object).reshape(-1)
    if index.shape[0] != token_level_rewards.shape[0]:
        raise ValueError(f"index must hold one uid per row ({token_level_rewards.shape[0]}); got {index.shape[0]}")
    with torch.no_grad():
        scores = token_level_rewards.sum(dim=-1).detach().to("cpu", torch.float64).numpy()
        a = grouped_advantages(name, scores, index, options=options or {}).advantages
        adv = torch.as_tensor(a, dtype=token_level_rewards.dtype, device=token_level_rewards.device)
        adv = adv.unsqueeze(-1) * response_mask.to(token_level_rewards.dtype)
    return adv, adv


def _make(name: str):
    def estimator(token_level_rewards, response_mask, index=None, config=None, **kwargs):
        if index is None:
            raise ValueError(f"{PREFIX}{name} needs group uids (verl's non_tensor_batch['uid'])")
        return compute_advantage(name, token_level_rewards, response_mask, index, options_from_config(config))

    estimator.__name__ = estimator.__qualname__ = f"{PREFIX}{name}"
    estimator.__doc__ = f"rlvr-lab registry estimator {name!r} as a verl advantage estimator."
    estimator.__module__ = __name__
    estimator.rlvr_lab_estimator = name
    return estimator


_FUNCTIONS = {f"{PREFIX}{n}": _make(n) for n in registrable()}


def register() -> list[str]:
    """Register every ``rlvr_<name>`` with verl's ``register_adv_est``; return the names registered.

    Idempotent: a name that already holds one of our estimators is skipped. Raises ``ImportError``
    without verl.
    """
    from verl.trainer.ppo import core_algos

    done = []
    for key, fn in _FUNCTIONS.items():
        have = core_algos.ADV_ESTIMATOR_REGISTRY.get(key)
        if have is None:
            core_algos.register_adv_est(key)(fn)
        elif getattr(have, "rlvr_lab_estimator", None) is None:
            raise ValueError(f"verl already has an advantage estimator named {key!r} that is not rlvr-lab's")
        done.append(key)
    return done


def registered() -> list[str]:
    """The ``rlvr_*`` names present in verl's registry now (``ImportError`` without verl)."""
    from verl.trainer.ppo import core_algos

    return sorted(k for k, f in core_algos.ADV_ESTIMATOR_REGISTRY.items()
                  if getattr(f, "rlvr_lab_estimator", None) is not None)


try:  # importing this module is what the verl.plugins entry point does
    import verl  # noqa: F401
except ImportError:
    pass
else:
    register()

"""TRL trainers whose advantages come from the rlvr-lab registry: ``GRPOTrainer`` and ``RLOOTrainer``.

TRL (checked against 1.16.0) computes advantages inline in ``_generate_and_score_completions`` and
has no hook for them (the upstream proposal ``_transform_advantages``, trl #7298, is still open).
The maintainer-endorsed route (trl #4525) is a subclass that overrides two methods whose
signatures have been stable from 0.22 through 1.16:

1. ``_calculate_rewards(inputs, prompts, completions, completion_ids_list)``: the parent returns
   the rewards of every process, gathered, shaped (N, n_funcs); we keep them and, for stateful
   estimators, gather the prompt ids too.
2. ``_generate_and_score_completions(inputs)``: we call the parent, then recompute the advantages
   from the kept rewards, with R = nansum_k w_k r_k (TRL's ``sum_then_normalize``; NaN where every
   reward function returned None), grouped (N/G, G) as TRL's sampler lays them out (every process
   holds whole or partial groups in order; the gathered batch holds whole ones):

       A = grouped_advantages(estimator, R, groups)   (rlvr_lab.integrations.grouped)

   NaN rows are left out of their group and get 0, as in TRL; groups an estimator drops (dapo) get
   0. Every process computes from the same gathered data, takes its slice
   ``[rank * n_local, (rank + 1) * n_local)`` and overwrites ``output["advantages"]``; the logged
   per-completion advantages (``_logs["advantages"]``, written by TRL before we could intervene)
   are replaced too.

``estimator="grpo", estimator_options={"convention": "trl"}`` reproduces TRL's own advantages up to
float32 rounding (the registry computes in float64 and rounds once; TRL rounds at every step), and
so its loss (tests/test_integrations_trl.py). ``linear_r`` differs where it should: an all-fail
group gets -1 where TRL's centred advantage is 0.

Stateful estimators (``kae``): the prompt id of a group is the value of ``prompt_id_column`` when
given, else the first 16 hex digits of SHA-256 of the prompt (text, or its messages as canonical
JSON) -- never Python's ``hash()``, which changes between processes. The step index counts
training generation rounds only (1, 2, ...); evaluation reads the state without updating it. The
state is written as JSON next to every TRL checkpoint (``rlvr_lab_estimator_state.json``) and read
back on ``train(resume_from_checkpoint=...)``. Every process keeps an identical copy.

Not supported (a ``ValueError`` at construction says so): ``multi_objective_aggregation=
"normalize_then_sum"``, ``scale_rewards`` other than the default (the estimator defines the
scaling), and on ``RLOOTrainer`` a KL in the reward (``beta != 0``) or ``normalize_advantages``.
dapo's dropped groups get zero advantage but their tokens still count in TRL's loss normaliser
(TRL has no dynamic sampling).

Example::

    from rlvr_lab.integrations.trl import GRPOTrainer
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=GRPOConfig(...), train_dataset=ds,
                          estimator="linear_r")
    trainer.train()
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np

from rlvr_lab.integrations import estimator_state as _state
from rlvr_lab.integrations.estimator_state import prompt_digest
from rlvr_lab.integrations.grouped import check_unit_interval, grouped_advantages
from theory.estimators import ESTIMATORS

try:
    import torch
    import trl as _trl
    from accelerate.utils import gather_object
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
except ImportError as _err:  # pragma: no cover - exercised only without the extra
    raise ImportError("rlvr_lab.integrations.trl needs TRL: pip install 'rlvr-lab[trl]'") from _err

__all__ = ["GRPOTrainer", "RLOOTrainer", "TRLCompatibilityError", "check_trl_compatibility", "prompt_digest",
           "OVERRIDDEN", "STATE_FILE"]

STATE_FILE = "rlvr_lab_estimator_state.json"
# The methods we override and the parameter names we rely on (unchanged from TRL 0.22 to 1.16 per the
# reference notes; this integration is tested with 1.16.0 only).
OVERRIDDEN = {
    "_calculate_rewards": ("self", "inputs", "prompts", "completions", "completion_ids_list"),
    "_generate_and_score_completions": ("self", "inputs"),
    "_save_checkpoint": ("self", "model", "trial"),
    "_load_optimizer_and_scheduler": ("self", "checkpoint"),
}


class TRLCompatibilityError(RuntimeError):
    """The installed TRL changed a method this integration overrides."""


def check_trl_compatibility(base) -> None:
    """Raise :class:`TRLCompatibilityError` unless ``base`` has every overridden method as expected."""
    for method, expected in OVERRIDDEN.items():
        fn = getattr(base, method, None)
        if fn is None:
            raise TRLCompatibilityError(f"{base.__name__}.{method} is missing in TRL {_trl.__version__}; "
                                        "rlvr_lab.integrations.trl is tested with TRL 1.16")
        got = tuple(inspect.signature(fn).parameters)
        if got != expected:
            raise TRLCompatibilityError(
                f"{base.__name__}.{method}{got} in TRL {_trl.__version__} differs from the signature "
                f"{expected} that rlvr_lab.integrations.trl overrides; install the tested TRL "
                "(pip install 'trl==1.16.*') or update the integration")


class _EstimatorMixin:
    """Registry advantages for a TRL online trainer (see the module docstring)."""

    def _rlvr_setup(self, estimator, estimator_options, prompt_id_column):
        check_trl_compatibility(self._rlvr_base)
        self.rlvr_estimator = estimator
        self.rlvr_options = _state.validate(estimator, estimator_options)
        self.rlvr_prompt_id_column = prompt_id_column
        self.rlvr_stateful = _state.is_stateful(estimator)
        self.rlvr_state = _state.new_state(estimator, **self.rlvr_options)
        self.rlvr_step = 0  # training generation rounds scored so far
        self._rlvr_kept = None
        self.rlvr_last = None  # the last batch: gathered rewards (N,), advantages (N,), keep (N/G,)

    def _rlvr_check_dataset(self):
        col = self.rlvr_prompt_id_column
        if col is None:
            return
        ds = getattr(self, "train_dataset", None)
        names = getattr(ds, "column_names", None)
        if names is not None and col not in names:
            raise ValueError(f"prompt_id_column {col!r} is not a column of train_dataset (columns: {names})")

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        ids = None
        if self.rlvr_stateful:
            col = self.rlvr_prompt_id_column
            if col is None:
                local = [prompt_digest(p) for p in prompts]
            else:
                local = [x[col] for x in inputs]
                local = [v.item() if hasattr(v, "item") else v for v in local]
                bad = [v for v in local if not isinstance(v, (int, str)) or isinstance(v, bool)]
                if bad:
                    raise ValueError(f"prompt_id_column {col!r} must hold int or str ids; got {bad[0]!r}")
            ids = gather_object(local)
        self._rlvr_kept = (rewards_per_func, ids, len(prompts))
        return rewards_per_func

    def _rlvr_rewards(self, rewards_per_func):
        """Scalar reward per gathered rollout, as TRL forms it; NaN where no reward function answered."""
        w = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        rewards = (rewards_per_func * w).nansum(dim=1)
        rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
        return rewards.double().cpu().numpy()

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if self._rlvr_kept is None:
            raise TRLCompatibilityError("TRL did not call _calculate_rewards inside _generate_and_score_completions")
        rewards_per_func, ids, n_local = self._rlvr_kept
        self._rlvr_kept = None
        mode = "train" if self.model.training else "eval"
        g = self.num_generations if mode == "train" else self.num_generations_eval
        rewards = self._rlvr_rewards(rewards_per_func)
        n = rewards.shape[0]
        if n % g:
            raise TRLCompatibilityError(f"gathered batch of {n} rollouts is not a multiple of num_generations={g}")
        group_of = np.arange(n) // g
        check_unit_interval(self.rlvr_estimator, rewards, where="the weighted sum of the TRL reward functions ")
        prompt_ids = None
        if self.rlvr_stateful:
            per_group = np.asarray(ids, dtype=object).reshape(-1, g)
            if any(len(set(row)) != 1 for row in per_group.tolist()):
                raise TRLCompatibilityError("a group of num_generations rollouts holds different prompts: TRL's "
                                            "sampler no longer lays groups out contiguously")
            prompt_ids = [row[0] for row in per_group.tolist()]
        if mode == "train":
            self.rlvr_step += 1
        res = grouped_advantages(self.rlvr_estimator, rewards, group_of, options=self.rlvr_options,
                                 prompt_ids=prompt_ids, step=max(self.rlvr_step, 1), state=self.rlvr_state,
                                 update=mode == "train")
        self.rlvr_last = {"mode": mode, "rewards": rewards, "advantages": res.advantages, "keep": res.keep,
                          "prompt_ids": prompt_ids}
        adv = output["advantages"]
        if adv.shape != (n_local,):
            raise TRLCompatibilityError(f"output['advantages'] has shape {tuple(adv.shape)}, expected ({n_local},)")
        rank = self.accelerator.process_index
        all_adv = torch.as_tensor(res.advantages, dtype=adv.dtype)
        output["advantages"] = all_adv[rank * n_local:(rank + 1) * n_local].to(adv.device)
        logged = self._logs["advantages"]  # TRL logged its own advantages of the n gathered rollouts
        for _ in range(min(n, len(logged))):
            logged.pop()
        logged.extend(all_adv.tolist())
        if getattr(ESTIMATORS[self.rlvr_estimator], "filters_groups", False):
            self._metrics[mode]["rlvr_lab/frac_groups_kept"].append(float(res.keep.mean()))
        return output

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.rlvr_stateful and self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            _state.save_json(os.path.join(folder, STATE_FILE), self.rlvr_estimator, self.rlvr_options,
                             self.rlvr_step, self.rlvr_state)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if not self.rlvr_stateful or checkpoint is None:
            return
        path = os.path.join(checkpoint, STATE_FILE)
        if not os.path.exists(path):
            warnings.warn(f"{checkpoint} has no {STATE_FILE}: the {self.rlvr_estimator} state starts empty",
                          stacklevel=2)
            return
        self.rlvr_step, self.rlvr_state = _state.load_json(path, self.rlvr_estimator)


class GRPOTrainer(_EstimatorMixin, _trl.GRPOTrainer):
    """``trl.GRPOTrainer`` with advantages from the rlvr-lab registry.

    ``estimator``: a registry name (``theory.estimators.ESTIMATORS``); ``estimator_options``: its
    options (e.g. ``{"convention": "trl"}`` for grpo, ``{"rho_star": 0.3}`` for plateau_r,
    ``{"bandwidth": 0.2}`` for kae); ``prompt_id_column``: the dataset column that identifies a
    prompt for stateful estimators (default: a SHA-256 digest of the prompt). Everything else goes to
    ``trl.GRPOTrainer`` unchanged.
    """

    _rlvr_base = _trl.GRPOTrainer

    def __init__(self, *args, estimator: str = "grpo", estimator_options: dict | None = None,
                 prompt_id_column: str | None = None, **kwargs):
        self._rlvr_setup(estimator, estimator_options, prompt_id_column)  # validate before loading anything
        super().__init__(*args, **kwargs)
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError("multi_objective_aggregation must be 'sum_then_normalize' with estimator=...: the "
                             "estimator replaces TRL's normalisation")
        if self.scale_rewards != "group":
            raise ValueError(f"scale_rewards must stay at its default 'group' with estimator={estimator!r} (got "
                             f"{self.scale_rewards!r}): the estimator defines the scaling (grpo for a std, "
                             "dr_grpo for none)")
        self._rlvr_check_dataset()


class RLOOTrainer(_EstimatorMixin, _trl.RLOOTrainer):
    """``trl.RLOOTrainer`` (sequence-level loss) with advantages from the rlvr-lab registry.

    Same arguments as :class:`GRPOTrainer`. RLOO's optional reward clipping is applied before the
    estimator; its KL-in-reward (``beta``) and batch normalisation are refused (set beta=0).
    """

    _rlvr_base = _trl.RLOOTrainer

    def __init__(self, *args, estimator: str = "rloo", estimator_options: dict | None = None,
                 prompt_id_column: str | None = None, **kwargs):
        self._rlvr_setup(estimator, estimator_options, prompt_id_column)
        args_ = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        if args_ is not None and getattr(args_, "beta", 0.0) != 0.0:
            raise ValueError(f"beta must be 0 with estimator={estimator!r} (got {args_.beta}): RLOOTrainer folds the "
                             "KL into the reward the estimator would see; use GRPOTrainer's beta for a KL loss")
        super().__init__(*args, **kwargs)
        if self.beta != 0.0:
            raise ValueError(f"beta must be 0 with estimator={estimator!r} (got {self.beta})")
        if self.normalize_advantages:
            raise ValueError("normalize_advantages must be False with estimator=...: the estimator defines the "
                             "scaling")
        self._rlvr_check_dataset()

    def _rlvr_rewards(self, rewards_per_func):
        rewards = super()._rlvr_rewards(rewards_per_func)
        if self.reward_clip_range:
            lo, hi = self.reward_clip_range
            rewards = np.where(np.isnan(rewards), rewards, np.clip(rewards, lo, hi))
        return rewards

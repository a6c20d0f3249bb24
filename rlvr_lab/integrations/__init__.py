"""Use the registry's estimators where RLVR models are trained: TRL, verl, OpenRLHF.

- :mod:`rlvr_lab.integrations.trl`: ``GRPOTrainer``/``RLOOTrainer`` subclasses taking ``estimator=``.
- :mod:`rlvr_lab.integrations.verl`: ``rlvr_<name>`` advantage estimators for verl's registry
  (loaded through the ``verl.plugins`` entry point).
- :mod:`rlvr_lab.integrations.export`: the procedural tasks as TRL / verl / OpenRLHF data sets,
  with the verifier as their reward function.
- :mod:`rlvr_lab.integrations.tracking`: a training run's ``log.jsonl`` mirrored to trackio, each step once.
- :mod:`rlvr_lab.integrations.grouped`: the framework-independent core (flat rewards + group labels
  -> registry advantages).

Nothing here imports trl, verl or trackio at package import time.
"""

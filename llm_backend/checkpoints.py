"""Training checkpoints: model (safetensors), optimizer, estimator state and step, written atomically.

A checkpoint is written to ``checkpoint.partial`` and renamed over ``checkpoint``, so an interrupted
write never leaves a half checkpoint behind; ``--resume`` loads the last complete one.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(out: Path, step: int, model, opt, est_state) -> None:
    from safetensors.torch import save_file

    tmp = out / "checkpoint.partial"
    tmp.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(_untie(state), str(tmp / "model.safetensors"))
    torch.save(opt.state_dict(), tmp / "optimizer.pt")
    (tmp / "estimator_state.pkl").write_bytes(pickle.dumps(est_state))
    (tmp / "step.json").write_text(json.dumps({"step": step}))
    final = out / "checkpoint"
    if final.exists():
        old = out / "checkpoint.old"
        final.rename(old)
        tmp.rename(final)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(final)


def _untie(state: dict) -> dict:
    """safetensors refuses shared storage (tied embeddings): keep one copy per storage."""
    seen, out = {}, {}
    for k, v in state.items():
        ptr = v.data_ptr()
        if ptr in seen:
            continue
        seen[ptr] = k
        out[k] = v
    return out


def load_checkpoint(out: Path, model, opt):
    from safetensors.torch import load_file

    ck = out / "checkpoint"
    model.load_state_dict(load_file(str(ck / "model.safetensors")), strict=False)
    model.tie_weights()
    opt.load_state_dict(torch.load(ck / "optimizer.pt", weights_only=True))
    est_state = pickle.loads((ck / "estimator_state.pkl").read_bytes())
    return json.loads((ck / "step.json").read_text())["step"], est_state

"""Training checkpoints with an atomic protocol: a resumed run continues exactly where the last
complete checkpoint left it, whatever instant the previous process died at.

Layout of a run directory::

    LATEST                     {"step": k, "dir": "checkpoints/step-000k"}   (the only pointer)
    checkpoints/step-000k/     model.safetensors, optimizer.safetensors, optimizer.json,
                               estimator_state.json, step.json
    log.jsonl, eval.jsonl      one line per step / evaluation (may run ahead of the checkpoint)

Saving step k (:func:`save_checkpoint`):

1. write every file into ``checkpoints/step-000k.partial/``, fsync each file;
2. rename the directory to ``checkpoints/step-000k`` (atomic), fsync ``checkpoints/``;
3. write ``LATEST.tmp``, fsync, ``os.replace`` it over ``LATEST`` (atomic), fsync the run directory;
4. only then delete the other checkpoint directories.

A crash before 3 leaves ``LATEST`` pointing at the previous complete checkpoint (still on disk,
since deletion comes last); a crash after 3 leaves the new one. Leftovers (``*.partial``,
unreferenced directories) are removed by the next save or resume. :func:`load_checkpoint` reads
only what ``LATEST`` names; the trainer then truncates ``log.jsonl``/``eval.jsonl`` to that step.

Nothing is unpickled: weights and optimizer tensors are safetensors, the rest JSON. ``fault`` is
a test hook: ``fault(point)`` is called at each named point (:data:`POINTS`) and may raise, to
check that an interruption at every point resumes to the uninterrupted run's state.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from llm_backend.results import atomic_write_text, fsync_dir

__all__ = ["save_checkpoint", "load_checkpoint", "latest_step", "latest_dir", "clean_stale", "POINTS"]

POINTS = ("ckpt:files-written", "ckpt:dir-renamed", "ckpt:pointer-written", "ckpt:old-removed")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _untie(state: dict) -> dict:
    """safetensors refuses shared storage (tied embeddings): keep one copy per storage."""
    seen, out = set(), {}
    for k, v in state.items():
        ptr = v.data_ptr()
        if ptr in seen:
            continue
        seen.add(ptr)
        out[k] = v
    return out


def _optimizer_parts(opt) -> tuple[dict, dict]:
    """An optimizer's state dict as (tensors for safetensors, JSON for the rest)."""
    sd = opt.state_dict()
    tensors, meta = {}, {}
    for pid, st in sd["state"].items():
        meta[str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}.{k}"] = v.detach().contiguous().clone()
            else:
                meta[str(pid)][k] = v
    return tensors, {"param_groups": sd["param_groups"], "state_scalars": meta}


def _optimizer_state(tensors: dict, meta: dict) -> dict:
    state = {}
    for key, v in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    for pid, scalars in meta["state_scalars"].items():
        state.setdefault(int(pid), {}).update(scalars)
    return {"state": state, "param_groups": meta["param_groups"]}


def _ckpt_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:06d}"


def save_checkpoint(out: Path, step: int, model, opt, est_state: dict | None, *, fault=None) -> None:
    """Write the checkpoint of ``step`` (module docstring: steps 1-4); ``est_state`` JSON-able."""
    from safetensors.torch import save_file

    hook = fault or (lambda point: None)
    final = _ckpt_dir(out, step)
    tmp = final.with_name(final.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(_untie(state), str(tmp / "model.safetensors"))
    tensors, meta = _optimizer_parts(opt)
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "optimizer.json").write_text(json.dumps(meta))
    (tmp / "estimator_state.json").write_text(json.dumps(est_state))
    (tmp / "step.json").write_text(json.dumps({"step": step}))
    for f in tmp.iterdir():
        _fsync_file(f)
    fsync_dir(tmp)
    hook("ckpt:files-written")
    if final.exists():  # a checkpoint of this step that LATEST may name: replace it only if unreferenced
        if _pointer(out) == final:
            shutil.rmtree(tmp)
            return
        shutil.rmtree(final)
    tmp.rename(final)
    fsync_dir(final.parent)
    hook("ckpt:dir-renamed")
    atomic_write_text(out / "LATEST", json.dumps({"step": step, "dir": str(final.relative_to(out))}))
    hook("ckpt:pointer-written")
    clean_stale(out)
    hook("ckpt:old-removed")


def _pointer(out: Path) -> Path | None:
    p = out / "LATEST"
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text())
        return out / d["dir"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"resume: {p} is malformed; the run directory was not written by this trainer") from None


def latest_dir(out: Path) -> Path | None:
    """The checkpoint directory ``LATEST`` names (None: no checkpoint yet)."""
    return _pointer(Path(out))


def latest_step(out: Path) -> int:
    """Step of the checkpoint ``LATEST`` names (0: none)."""
    ptr = _pointer(out)
    if ptr is None:
        return 0
    if not (ptr / "step.json").is_file():
        raise ValueError(f"resume: LATEST names {ptr}, which is missing or incomplete")
    return int(json.loads((ptr / "step.json").read_text())["step"])


def clean_stale(out: Path) -> None:
    """Remove every checkpoint directory other than the one ``LATEST`` names (partials included)."""
    keep = _pointer(out)
    root = out / "checkpoints"
    if not root.is_dir():
        return
    for d in root.iterdir():
        if d != keep:
            shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)


def load_checkpoint(out: Path, model, opt):
    """Restore model and optimizer from the checkpoint ``LATEST`` names -> (step, estimator state dict)."""
    from safetensors.torch import load_file

    ck = _pointer(out)
    step = latest_step(out)
    model.load_state_dict(load_file(str(ck / "model.safetensors")), strict=False)
    model.tie_weights()
    tensors = load_file(str(ck / "optimizer.safetensors"))
    opt.load_state_dict(_optimizer_state(tensors, json.loads((ck / "optimizer.json").read_text())))
    est_state = json.loads((ck / "estimator_state.json").read_text())
    return step, est_state

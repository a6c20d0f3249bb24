"""Reading the committed real-model result files for the ``llm_*`` figures (no torch, no llm_backend).

Result files live in ``results/llm/`` at the repository root (written by ``rlvr-lab llm ...``), or
in ``ctx.inputs_dir`` when the run context names one. Not a figure itself (defines no FIGURE).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["results_dir", "load", "load_glob", "provenance", "model_label", "times_array", "placeholder"]

_MODEL_NAMES = {"smollm2-135m": "SmolLM2-135M-Instruct", "tiny": "tiny random Llama"}


def model_label(res: dict) -> str:
    """The model a result file names (its ``model`` field), with its dtype where recorded."""
    name = str(res.get("model") or "unknown model")
    label = _MODEL_NAMES.get(name, name.rstrip("/").split("/")[-1] if name.startswith(("/", ".")) else name)
    dtype = res.get("dtype") or (res.get("config") or {}).get("dtype")
    return f"{label} ({dtype})" if dtype and dtype != "float32" else label


def results_dir(ctx=None) -> Path:
    if ctx is not None and getattr(ctx, "inputs_dir", None):
        return Path(ctx.inputs_dir)
    return Path(__file__).resolve().parents[1] / "results" / "llm"


def load(ctx, name: str) -> dict | None:
    path = results_dir(ctx) / name
    return json.loads(path.read_text()) if path.is_file() else None


def load_glob(ctx, pattern: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results_dir(ctx).glob(pattern))]


def provenance(res: dict) -> dict:
    """The header fields a figure carries along: command, model, seed, hardware, time, sample size."""
    keys = ("command", "model", "seed", "started_utc", "wall_seconds", "git_commit", "sample_size")
    out = {k: res.get(k) for k in keys}
    out["model_label"] = model_label(res)
    hw = res.get("hardware") or {}
    out["hardware"] = f"{hw.get('processor', '?')}, {hw.get('cpu_count', '?')} cores, torch {hw.get('torch', '?')}" + (
        f", GPU {hw['gpu']}" if hw.get("gpu") else ", CPU only")
    return out


def times_array(rows) -> np.ndarray:
    """Solution times from JSON ('inf' strings or None for no solution) -> float64 array."""
    return np.array([[np.inf if (t is None or t == "inf") else float(t) for t in row] for row in rows])


def placeholder(title: str, message: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9)
    return fig

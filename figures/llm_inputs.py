"""Helpers for the ``llm_*`` figures, which read real-model result files (no torch, no llm_backend).

Result files live in ``results/llm/`` at the repository root (written by ``rlvr-lab llm ...``), or
in ``--inputs DIR``. A figure declares the files it reads (``Figure(inputs=(...))``); the runner
reads and hashes them and ``compute`` gets them from ``ctx.input(name)`` / ``ctx.input_glob(pattern)``.
Not a figure itself (defines no FIGURE).
"""

from __future__ import annotations

import numpy as np

__all__ = ["provenance", "model_label", "times_array", "placeholder"]

_MODEL_NAMES = {"smollm2-135m": "SmolLM2-135M-Instruct", "tiny": "tiny random Llama"}


def model_label(res: dict) -> str:
    """The model a result file names (its ``model`` field), with its dtype where recorded."""
    name = str(res.get("model") or "unknown model")
    label = _MODEL_NAMES.get(name, name.rstrip("/").split("/")[-1] if name.startswith(("/", ".")) else name)
    dtype = res.get("dtype") or (res.get("config") or {}).get("dtype")
    return f"{label} ({dtype})" if dtype and dtype != "float32" else label


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


def placeholder(axes, title: str, message: str) -> None:
    """Draw a 'result file missing' message over the figure's axes (all of them hidden)."""
    axes = list(np.ravel(axes))
    for ax in axes:
        ax.axis("off")
    axes[0].set_title(title)
    axes[0].text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9, transform=axes[0].transAxes)

"""Checks of the real-model entry points' paths, device and model name, before any work (torch-free).

Each raises ``ValueError`` naming the parameter and its valid values; :mod:`llm_backend.config`
re-exports them with the configs that call them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["BUILTIN", "check_output_file", "check_output_dir", "check_input_file", "check_device", "check_model_name"]

BUILTIN = ("smollm2-135m", "tiny")  # models.BUILTIN


def _first_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _check_creatable(name: str, path, start: Path) -> None:
    """The nearest existing ancestor of ``start`` is a writable directory (so ``path`` can be created).

    Writable means that a directory can be made there: the permission bits alone do not say it for
    root, a read-only mount or a virtual file system such as /proc, so an empty directory is made and
    removed again (nothing is left behind)."""
    anc = _first_existing(start)
    if not anc.is_dir():
        raise ValueError(f"{name} cannot be created: {str(anc)!r} is not a directory (path {str(path)!r})")
    if not os.access(anc, os.W_OK):
        raise ValueError(f"{name} cannot be created: directory {str(anc)!r} is not writable")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".rlvr-lab-probe-", dir=anc))
    except OSError as exc:
        raise ValueError(f"{name} cannot be created: nothing can be written in {str(anc)!r} "
                         f"({exc.strerror}; path {str(path)!r})") from None


def check_output_file(name: str, path) -> Path:
    """``path`` can be written as a file: not a directory, and its nearest existing ancestor is a
    writable directory (missing parents are created later)."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"{name} must be a file path; got an empty path")
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValueError(f"{name} must be a file path, not a directory; got {str(path)!r}")
    _check_creatable(name, path, p.parent)
    return p


def check_output_dir(name: str, path) -> Path:
    """``path`` is an existing directory or can be created as one (no file in the way)."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"{name} must be a directory path; got an empty path")
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ValueError(f"{name} must be a directory; {str(path)!r} is a file")
    _check_creatable(name, path, p)
    return p


def check_input_file(name: str, path) -> Path:
    """``path`` is an existing, readable file."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"{name} must be a file path; got an empty path")
    p = Path(path).expanduser()
    if not p.is_file():
        what = "a directory" if p.is_dir() else "missing"
        raise ValueError(f"{name} must be an existing file; {str(path)!r} is {what}")
    return p


def check_device(device: str | None) -> str | None:
    """``device`` must be None (automatic), "cpu", "cuda" or "cuda:N"; ValueError otherwise."""
    if device is None or device == "":
        return None
    ok = device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())
    if not ok:
        raise ValueError(f"device must be one of cpu, cuda, cuda:N (or unset for automatic); got {device!r}")
    return device


def check_model_name(name: str) -> str:
    """A built-in name, an existing local directory, or an ``owner/name`` hub id (local cache only).

    Checked before anything is loaded; a bare unknown name is never sent to the hub.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model must be one of {list(BUILTIN)}, a local checkpoint directory or a cached "
                         f"hub id owner/name; got {name!r}")
    if name in BUILTIN or Path(name).expanduser().is_dir():
        return name
    parts = name.split("/")
    if name.startswith((".", "/", "~")) or len(parts) != 2 or not all(parts):
        kind = "a path that is not a directory" if ("/" in name or name.startswith((".", "~"))) else \
            "not a known model name"
        raise ValueError(f"model must be one of {list(BUILTIN)}, a local checkpoint directory (config.json, "
                         f"*.safetensors, tokenizer files) or a cached hub id owner/name; {name!r} is {kind}")
    return name

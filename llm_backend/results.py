"""Result files of real-model runs: a provenance header (command, model, seed, hardware, time,
git commit) and atomic JSON writing. Figures read these files without importing torch.

Example::

    >>> h = run_header(command="rlvr-lab llm xi --model tiny", seed=0, model="tiny")
    >>> sorted(h)[:3]
    ['command', 'finished_utc', 'git_commit']
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path


from theory.records import dumps

__all__ = ["atomic_write_text", "fsync_dir", "run_header", "hardware", "write_result", "read_result"]


def hardware() -> dict:
    """CPU/GPU, core count, torch version and thread count of this process."""
    import torch

    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        load = os.getloadavg()[0]
        info["load_avg_1min_at_end"] = round(load, 2)
    except OSError:
        pass
    return info


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_header(*, command: str, seed: int, model: str, started: float | None = None, **extra) -> dict:
    """Provenance of one run: exact command, seed, model, hardware, UTC times and wall seconds."""
    now = time.time()
    started = now if started is None else started
    iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")  # noqa: E731
    return {"command": command, "seed": seed, "model": model, "hardware": hardware(),
            "started_utc": iso(started), "finished_utc": iso(now), "wall_seconds": round(now - started, 1),
            "git_commit": _git_commit(), **extra}


def fsync_dir(path: Path) -> None:
    """fsync a directory (its entries: a rename into it survives a crash); a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` via a fsynced temporary file and ``os.replace`` (a kill leaves the old
    file or the new one, never a torn one); the project's one atomic writer (torch-free)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_result(path, obj) -> Path:
    """Atomic, deterministic JSON (sorted keys) at ``path``; parents created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, dumps(obj))
    return path


def read_result(path) -> dict:
    """A result file as written by :func:`write_result`."""
    return json.loads(Path(path).read_text())

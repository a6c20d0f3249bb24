"""Partial result files of resumable measurements: one JSON header line, then one record per line.

``<out>.partial.jsonl`` starts with ``{"config": key}`` (the measurement's configuration without
its output and resume settings); every finished unit of work (a chunk of prompts, a training step)
is appended as one line, flushed and fsynced, so a kill loses at most the unit in flight. A line
torn by a kill ends the read: that unit is measured again. A partial file written under another
configuration is refused, naming the fields that differ.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.partial.jsonl"
    >>> with p.open("w") as f:
    ...     append_record(f, {"config": {"a": 1}}); append_record(f, {"step": 1})
    >>> read_records(p, {"a": 1}, what="rlvr-lab")
    [{'step': 1}]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["partial_key", "read_records", "append_record"]


def partial_key(config: dict, drop=("out", "resume")) -> dict:
    """The configuration a partial file is keyed on: ``config`` without ``drop`` and the device."""
    d = dict(config)
    for k in drop:
        d.pop(k, None)
    if isinstance(d.get("model"), dict):
        d["model"] = {k: v for k, v in d["model"].items() if k != "device"}
    return d


def read_records(path: Path, key: dict, *, what: str) -> list[dict]:
    """The records of the partial file ``path`` written under configuration ``key``."""
    lines = Path(path).read_text().splitlines()
    try:
        head = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or "config" not in head:
        raise ValueError(f"resume: {path} is not a partial result of {what} (no config line); delete it")
    if head["config"] != key:
        old = head["config"]
        diff = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))
        raise ValueError(f"resume must use the partial result's configuration; these differ: {diff} ({path})")
    records = []
    for line in lines[1:]:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line torn by a kill: that unit is measured again
    return records


def append_record(f, rec: dict) -> None:
    """Append one JSON line to the open file ``f`` and make it durable (flush + fsync)."""
    f.write(json.dumps(rec) + "\n")
    f.flush()
    os.fsync(f.fileno())

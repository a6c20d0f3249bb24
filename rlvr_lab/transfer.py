"""Carry a file larger than one device call allows: split it into verified parts, reassemble it there.

A lent GPU machine (``rlvr-lab llm campaign``, :mod:`rlvr_lab.campaign`) receives at most 64 MiB
of files per call, working tree included, and cannot reach the internet; the SmolLM2 GGUF is
98,362,432 bytes (93.8 MiB). ``pack`` splits a file into ``n`` parts of equal size (the last may be
shorter), ``n`` the smallest count for which every part folder stays under ``part_mib`` MiB (the
wheels travel in part 1 and count there); ``unpack`` checks each part's size and SHA-256 against
the manifest, concatenates them, checks the whole file's SHA-256 and only then moves it into place
(atomically). A missing or corrupted part is refused with one line naming the part and the call
that carries it; nothing half-written is ever left at the target.

Layout written by ``pack --out DIR`` (each ``partK`` is one device call's ``carry`` path)::

    DIR/part1/parts.json                   the manifest (identical copy in every part folder)
    DIR/part1/<name>.001, <wheels>         part 1 and the wheels (e.g. gguf-0.19.0-py3-none-any.whl)
    DIR/part2/parts.json, <name>.002       part 2

Manifest (``parts.json``): ``format``, ``name``, ``size``, ``sha256`` of the whole file,
``parts`` [{``index``, ``folder``, ``file``, ``size``, ``sha256``}], ``wheels`` [{``folder``,
``file``, ``size``, ``sha256``}]. Nothing loaded executes code (JSON only).

Why the GGUF and not the converted safetensors copy: the loader's cached copy is dequantised
float32 (517 MiB), ten calls' worth; the GGUF is converted there by the loader itself (about
30 s on 2 cores), which needs the pure-Python ``gguf`` wheel (118 KiB; its requirements numpy,
pyyaml, requests and tqdm are on the machine): ``python -m pip download gguf==0.19.0 --no-deps
--only-binary=:all: -d .whl`` fetches it.

Example::

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "m.bin").write_bytes(b"x" * 3000)
    3000
    >>> man = pack(d / "m.bin", d / "parts", part_mib=0.001)
    >>> len(man["parts"]), unpack(d / "parts", d / "out").read_bytes() == b"x" * 3000
    (3, True)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from llm_backend.config import opt
from theory.checks import check_real

__all__ = ["pack", "unpack", "read_manifest", "sha256_file", "PackConfig", "UnpackConfig", "MANIFEST", "FORMAT",
           "MAX_PART_MIB"]

FORMAT = "rlvr-lab-parts/1"
MANIFEST = "parts.json"
MAX_PART_MIB = 60.0  # one call carries 64 MiB with the working tree (~1.4 MiB): parts stay below 60
_MIB = 1 << 20
_CHUNK = 4 * _MIB


@dataclass
class PackConfig:
    """Split a model file into verified parts for a device call each (``rlvr-lab llm pack-model``)."""

    out: str = opt(None, "folder for part1/, part2/, ... (each one device call's carry path, e.g. .device/smollm2)",
                   required=True)
    source: str | None = opt(None, "file to split (default: the SmolLM2 GGUF the loader uses)")
    wheels: tuple = opt((), "comma-separated wheel files carried in part 1 (e.g. the gguf wheel)")
    part_mib: float = opt(56.0, "most MiB per part folder, in (0, 60)")

    def source_path(self) -> Path:
        if self.source is not None:
            return Path(self.source).expanduser()
        from llm_backend.models import find_smollm2_gguf

        path = find_smollm2_gguf()
        if path is None:
            from llm_backend.models import INSTALL_HINT

            raise ValueError(f"source: the SmolLM2 GGUF is not installed here ({INSTALL_HINT}); or pass --source FILE")
        return path


@dataclass
class UnpackConfig:
    """Reassemble and verify a packed file on the device (``rlvr-lab llm unpack-model``)."""

    parts: str = opt(None, "the folder holding part1/, part2/, ... (as written by pack-model)", required=True)
    to: str = opt(None, "folder for the reassembled file", required=True)


def _chunks(path, start: int = 0, length: int | None = None):
    """The bytes of ``path`` from ``start`` (``length`` of them, default to the end), in chunks;
    ValueError if the file ends before ``length`` bytes."""
    with open(path, "rb") as f:
        f.seek(start)
        left = math.inf if length is None else length
        while left > 0:
            buf = f.read(int(min(_CHUNK, left)))
            if not buf:
                if length is not None:
                    raise ValueError(f"source {path} shrank while it was read")
                return
            yield buf
            left -= len(buf)


def _stream(chunks, out=None) -> str:
    """Hex SHA-256 of ``chunks``, also written to the open file ``out`` (then fsynced) when given."""
    h = hashlib.sha256()
    for buf in chunks:
        h.update(buf)
        if out is not None:
            out.write(buf)
    if out is not None:
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def sha256_file(path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    return _stream(_chunks(path))


def _n_parts(size: int, extra: int, limit: float) -> int:
    """Smallest n whose equal parts fit ``limit`` bytes each, part 1 also holding ``extra`` bytes."""
    for n in range(1, 10_000):
        if math.ceil(size / n) + extra <= limit:
            return n
    raise ValueError(f"part_mib {limit / _MIB} MiB is too small for {size} bytes plus {extra} bytes of wheels")


def pack(source, out, *, part_mib: float = 56.0, wheels=()) -> dict:
    """Split ``source`` into part folders ``out/part1 .. out/partN`` (module docstring); returns the manifest.

    ``part_mib`` in (0, 60): the most MiB of one part file plus, in part 1, the ``wheels`` (the
    manifest, about 1 KiB, comes on top).
    """
    src = Path(source).expanduser()
    if not src.is_file():
        raise ValueError(f"source must be an existing file; {str(source)!r} is "
                         f"{'a directory' if src.is_dir() else 'missing'}")
    check_real("part_mib", part_mib, low=0.0, high=MAX_PART_MIB, open_low=True, open_high=True)
    whl = [Path(w).expanduser() for w in wheels]
    for w in whl:
        if not w.is_file():
            raise ValueError(f"wheels must be existing files; {str(w)!r} is missing")
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a directory; {str(out)!r} is a file")
    if out.is_dir() and any(not (e.is_dir() and e.name.startswith("part") and e.name[4:].isdigit())
                            for e in out.iterdir()):
        raise ValueError(f"out must be a new folder or an earlier pack's (it is replaced); {str(out)!r} holds "
                         "other files")
    size = src.stat().st_size
    n = _n_parts(size, sum(w.stat().st_size for w in whl), part_mib * _MIB)
    step = math.ceil(size / n) if size else 0
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    parts = []
    for k in range(n):
        folder = f"part{k + 1}"
        (tmp / folder).mkdir(parents=True, exist_ok=True)
        start, length = k * step, max(0, min(step, size - k * step))
        name = f"{src.name}.{k + 1:03d}"
        with open(tmp / folder / name, "wb") as fo:
            digest = _stream(_chunks(src, start, length), fo)
        parts.append({"index": k + 1, "folder": folder, "file": name, "size": length, "sha256": digest})
    wheel_rows = []
    for w in whl:
        shutil.copyfile(w, tmp / "part1" / w.name)
        wheel_rows.append({"folder": "part1", "file": w.name, "size": w.stat().st_size, "sha256": sha256_file(w)})
    manifest = {"format": FORMAT, "name": src.name, "size": size, "sha256": sha256_file(src),
                "part_mib": part_mib, "parts": parts, "wheels": wheel_rows}
    if _stream(c for p in parts for c in _chunks(tmp / p["folder"] / p["file"])) != manifest["sha256"]:
        raise ValueError(f"source {src} changed while it was packed; pack it again")
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    for p in parts:
        (tmp / p["folder"] / MANIFEST).write_text(text)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest


def read_manifest(parts_dir) -> dict:
    """The manifest of a packed folder (from whichever part folders are present; they must agree)."""
    root = Path(parts_dir).expanduser()
    if not root.is_dir():
        raise ValueError(f"parts must be a directory made by `rlvr-lab llm pack-model`; {str(root)!r} is "
                         f"{'a file' if root.exists() else 'missing'}")
    found = sorted(root.glob(f"part*/{MANIFEST}"))
    if not found:
        raise ValueError(f"parts: no part folder with {MANIFEST} under {str(root)!r} (carry partK/ folders there)")
    texts = {f.read_text() for f in found}
    if len(texts) > 1:
        raise ValueError(f"parts: the part folders under {str(root)!r} come from different packs "
                         "(their manifests differ); carry the parts of one pack")
    try:
        man = json.loads(texts.pop())
    except json.JSONDecodeError:
        raise ValueError(f"parts: {found[0]} is not valid JSON") from None
    if not isinstance(man, dict) or man.get("format") != FORMAT:
        raise ValueError(f"parts: {found[0]} is not a {FORMAT} manifest")
    return man


def _check(root: Path, row: dict, what: str) -> Path:
    path = root / row["folder"] / row["file"]
    if not path.is_file():
        raise ValueError(f"{what} is missing: expected {path} (carry {root / row['folder']} in its device call)")
    size = path.stat().st_size
    if size != row["size"]:
        raise ValueError(f"{what} is corrupted: {path} has {size} bytes, the manifest says {row['size']}; "
                         "carry it again")
    digest = sha256_file(path)
    if digest != row["sha256"]:
        raise ValueError(f"{what} is corrupted: sha256 of {path} is {digest[:16]}..., the manifest says "
                         f"{row['sha256'][:16]}...; carry it again")
    return path


def unpack(parts_dir, to) -> Path:
    """Verify every part and wheel, reassemble ``to/<name>``, verify the whole; returns its path.

    Safe to repeat: a target that already has the manifest's size and SHA-256 is kept as it is
    (the parts may then be absent). ValueError (one line) for a missing or corrupted part.
    """
    root = Path(parts_dir).expanduser()
    man = read_manifest(root)
    dest_dir = Path(to).expanduser()
    if dest_dir.exists() and not dest_dir.is_dir():
        raise ValueError(f"to must be a directory; {str(to)!r} is a file")
    target = dest_dir / man["name"]
    if target.is_file() and target.stat().st_size == man["size"] and sha256_file(target) == man["sha256"]:
        return target
    for w in man["wheels"]:
        _check(root, w, f"wheel {w['file']}")
    paths = [_check(root, p, f"part {p['index']} of {len(man['parts'])}") for p in man["parts"]]
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    with open(tmp, "wb") as fo:
        digest = _stream((c for path in paths for c in _chunks(path)), fo)
    if digest != man["sha256"]:
        tmp.unlink()
        raise ValueError(f"parts: the reassembled {man['name']} has sha256 {digest[:16]}..., the "
                         f"manifest says {man['sha256'][:16]}...; pack and carry the parts again")
    tmp.replace(target)
    return target

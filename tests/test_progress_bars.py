"""Progress bars work in notebooks too: every tqdm import in the package is ``tqdm.auto`` (issue 12 §4)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "simulate", "llm_backend", "figures", "rlvr_lab")


def test_every_tqdm_import_is_tqdm_auto():
    imports, plain = 0, []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"^\s*(from|import)\s+tqdm\b", line):
                    imports += 1
                    if not re.search(r"^\s*from\s+tqdm\.auto\s+import\s", line):
                        plain.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert imports >= 3, "the trainer, the measurements and reproduce show progress bars"
    assert plain == [], "use `from tqdm.auto import tqdm`: " + "; ".join(plain)

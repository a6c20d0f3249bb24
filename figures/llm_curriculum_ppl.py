"""Paper D on SmolLM2-135M-Instruct: prompt perplexity under the model against the pass rate.

Reproduces paper D's preliminary finding (Fig. F1: pass rate falls with prompt-PPL decile;
Spearman about -0.2 on DAPO-Math-17K) on a real model. Reads ``results/llm/ppl_arithmetic.json``:

    rlvr-lab llm ppl --from-xi results/llm/xi_arithmetic.json --out results/llm/ppl_arithmetic.json

which reuses the rollouts of the paper-A run (pass rate = fraction of a prompt's G rollouts with
a correct answer within H) and adds one forward pass per prompt for its perplexity. Run with
``rlvr-lab reproduce --only llm_curriculum_ppl``.

Departures from paper D: generated 2-digit sums instead of DAPO-Math-17K (the prompts differ only
in their numbers, so the PPL spread is narrow); tens of prompts instead of 17k, pass rate from G
rollouts (paper D: passrate@16); PPL over the problem text inside the chat template [R].
"""

from __future__ import annotations


from figures.base import Figure, Layout
from figures.llm_inputs import placeholder, provenance
from theory.claims import INCONCLUSIVE, Claim, Verdict, judge

FILE = "ppl_arithmetic.json"

CLAIMS = (
    Claim("D.ppl-passrate",
          "On a real model, prompts with higher perplexity under the model have lower pass rates "
          "(negative Spearman correlation between prompt PPL and pass rate).",
          "S", "Spearman(PPL, pass rate) < 0 (paper D: -0.17 to -0.23 on DAPO-Math-17K)",
          "primary metric: Spearman rank correlation over prompts with a 95% bootstrap interval over "
          "prompts; supported if the interval lies below 0, not supported if it lies above 0, else inconclusive"),
)


def compute(ctx, cfg) -> dict:
    res = ctx.input(FILE)
    if res is None:
        return {"missing": True, "file": FILE}
    s = res["summary"]
    return {"missing": False, "provenance": provenance(res), "settings": res["settings"],
            "ppl": res["per_prompt"]["ppl"], "passrate": res["per_prompt"]["passrate"],
            "spearman": s["spearman"], "ci": s["spearman_ci95"], "p_value": s["p_value"], "bins": s["bins"],
            "n_prompts": s["n_prompts"], "group": res["sample_size"]["rollouts_per_prompt"]}


def evaluate(data) -> list:
    c = CLAIMS[0]
    if data.get("missing"):
        return [Verdict(c, INCONCLUSIVE, {}, note=f"no result file {data['file']} in results/llm")]
    lo, hi = data["ci"]
    v = judge(supported=hi < 0, not_supported=lo > 0)
    n = {"prompts": data["n_prompts"], "rollouts_per_prompt": data["group"]}
    note = (f"{data['provenance'].get('model_label', 'model')} on 2-digit sums, {data['n_prompts']} prompts: far fewer than paper D's 17k; "
            f"p = {data['p_value']:.3g}")
    return [Verdict(c, v, {"spearman": data["spearman"]}, {"ci95": [lo, hi]}, n, note=note)]


def draw(data, axes):
    if data.get("missing"):
        return placeholder(axes, "llm_curriculum_ppl", "result file missing: run `rlvr-lab llm ppl` (see module docstring)")
    ax = axes[0]
    ax.scatter(data["ppl"], data["passrate"], s=14, alpha=0.7)
    ax.set(xlabel="prompt perplexity under the model", ylabel="pass rate within H",
           title=f"Spearman {data['spearman']:.2f} [{data['ci'][0]:.2f}, {data['ci'][1]:.2f}]")
    ax = axes[1]
    bins = data["bins"]
    ax.plot([b["bin"] for b in bins], [b["passrate_mean"] for b in bins], "o-")
    ax.set(xlabel=f"PPL quantile bin (1 = lowest; {len(bins)} bins, ~{bins[0]['n']} prompts each)",
           ylabel="mean pass rate", title="pass rate by PPL bin (paper D, Fig. F1 shape: falling)")
    axes[0].figure.suptitle(f"{data['provenance'].get('model_label', 'model')}, {data['n_prompts']} prompts x {data['group']} rollouts "
                 f"({data['provenance']['hardware']})", fontsize=9)


FIGURE = Figure(name="llm_curriculum_ppl", title="Paper D on a real model: prompt perplexity vs pass rate",
                claims=CLAIMS, inputs=(FILE,), layout=Layout(1, 2, (10, 4)),
                compute=compute, evaluate=evaluate, draw=draw,
                description="SmolLM2-135M-Instruct: Spearman(prompt PPL, pass rate) and the PPL-bin table.")

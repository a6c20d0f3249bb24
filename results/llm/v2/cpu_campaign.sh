#!/bin/bash
# The real-model CPU campaign of issue 13 (SmolLM2-135M-Instruct, float32, 2 CPU cores), as run on
# 2026-11-30: papers A and B on 1-digit sums (3 seeds), paper E on 2-step additions (1 seed).
# The design (sizes, seeds, arms, decision rules) was fixed before the first run; see the module
# docstrings of figures/llm_budget_efficiency.py, llm_weighting_rho.py and llm_composition_ratio.py.
# Safe to rerun: a finished result is skipped, an interrupted run resumes from its checkpoint.
# Each seed's first run (grpo, H = 32) evaluates the held-out prompts at step 0; the seed's other
# arms reuse that evaluation with --eval-start-from where its fingerprint matches (identical by
# construction), else they evaluate afresh. (Seed 1's arms evaluated afresh: the option came later.)
set -u
R=results/llm/v2
RUNS=${RUNS:-runs/v2}
arith() {  # estimator horizon seed [run directory whose step-0 evaluation to reuse]
  local est=$1 h=$2 s=$3 src=${4:-} name=arith1_${1}_h${2}_s${3}
  [ -f $R/train_$name.json ] && return 0
  local base="--model smollm2-135m --dtype float32 --task arithmetic --task-opt digits=1 --estimator $est
    --steps 5 --prompts 8 --group 8 --pool 24 --horizon $h --lr 1e-5 --seed $s
    --eval-prompts 40 --eval-group 8 --eval-horizon 48 --batch-size 64
    --out-dir $RUNS/$name --result $R/train_$name.json --resume"
  [ -n "$src" ] && rlvr-lab llm train $base --eval-start-from $src
  [ -f $R/train_$name.json ] || rlvr-lab llm train $base
}
compose() {  # seed
  local s=$1 name=multistep2add_grpo_s$1
  [ -f $R/train_$name.json ] && return 0
  rlvr-lab llm train --model smollm2-135m --dtype float32 --task multistep --task-opt steps=2 --task-opt ops=+ \
    --temperature 0.6 --estimator grpo --steps 8 --prompts 8 --group 8 --pool 64 --horizon 64 --lr 1e-5 --seed $s \
    --eval-prompts 64 --eval-group 8 --eval-horizon 64 --batch-size 64 \
    --out-dir $RUNS/$name --result $R/train_$name.json --resume
}
for s in 1 2 3; do
  arith grpo 32 $s
  for a in "linear_r 32" "grpo 16" "grpo 64"; do arith $a $s $RUNS/arith1_grpo_h32_s$s; done
done
compose 1

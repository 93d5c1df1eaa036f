#!/usr/bin/env bash
# Standard ddpg benchmark runs. Run from the repository root:  bash benchmark/ddpg.sh
# Then:  python benchmark/report.py --exp-name ddpg --out benchmark/results/ddpg
# WORKERS runs at once on this machine (default 2, one per core); other arguments go to launch.py:
# --address host:port runs on a Ray cluster, --track tracks the sweep in Weights & Biases. Off-policy steps cost ~5-10 ms
# each on a CPU core here, so the MuJoCo budgets below are what 2 cores finish in a few hours.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# Pendulum: 20k steps (the RL Zoo's budget), random actions for the first 1000, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/ddpg.py --env-id Pendulum-v1 --total-timesteps 20000 --learning-starts 1000"

# LunarLanderContinuous: 300k steps, 10k random steps, 3 seeds. InvertedPendulum: 100k steps, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/ddpg.py --env-id LunarLanderContinuous-v3 --total-timesteps 300000 --learning-starts 10000" \
  --command "python algos/ddpg.py --env-id InvertedPendulum-v5 --total-timesteps 100000 --learning-starts 10000"

# MuJoCo locomotion at 300k steps (the budget 2 cores allow), 2 seeds each.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 \
  --command "python algos/ddpg.py --env-id HalfCheetah-v5 --total-timesteps 300000" \
  --command "python algos/ddpg.py --env-id Hopper-v5 --total-timesteps 300000"

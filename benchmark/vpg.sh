#!/usr/bin/env bash
# Standard vpg benchmark runs. Run from the repository root:  bash benchmark/vpg.sh
# Then:  python benchmark/report.py --exp-name vpg --out benchmark/results/vpg
# WORKERS runs at once on this machine (default 2, one per core); other arguments go to launch.py:
# --address host:port runs on a Ray cluster, --track tracks the sweep in Weights & Biases.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# Classic control at 500k steps with the file's defaults, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/vpg.py --env-id CartPole-v1 --total-timesteps 500000" \
  --command "python algos/vpg.py --env-id Acrobot-v1 --total-timesteps 500000"

# HalfCheetah: the file's Box defaults (Spinning Up's VPG settings), 1M steps, 2 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 \
  --command "python algos/vpg.py --env-id HalfCheetah-v5 --total-timesteps 1000000"

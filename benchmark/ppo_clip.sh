#!/usr/bin/env bash
# Standard PPO-Clip benchmark runs. Run from the repository root:  bash benchmark/ppo_clip.sh
# Then:  python benchmark/report.py --exp-name ppo_clip --out benchmark/results/ppo_clip
# WORKERS runs at once on this machine (default 2, one per core); other arguments go to launch.py:
# --address host:port runs on a Ray cluster, --track tracks the sweep in Weights & Biases.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# LunarLander, CartPole, Acrobot: the file's Discrete defaults (the RL Zoo's LunarLander settings: 16 envs
# x 1024 steps, minibatch 64, 4 epochs, gamma 0.999, lambda 0.98, ent 0.01, constant lr 3e-4, no value
# clipping), 1M steps, 3 seeds.
# HalfCheetah: our Box defaults (= the paper's MuJoCo settings), 1M steps, 2 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/ppo_clip.py --env-id LunarLander-v2" \
  --command "python algos/ppo_clip.py --env-id CartPole-v1" \
  --command "python algos/ppo_clip.py --env-id Acrobot-v1"
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 \
  --command "python algos/ppo_clip.py --env-id HalfCheetah-v5 --total-timesteps 1000000"

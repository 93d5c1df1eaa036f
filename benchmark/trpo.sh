#!/usr/bin/env bash
# Standard trpo benchmark runs. Run from the repository root:  bash benchmark/trpo.sh
# Then:  python benchmark/report.py --exp-name trpo --out benchmark/results/trpo
# WORKERS runs at once on this machine (default 2, one per core); other arguments go to launch.py:
# --address host:port runs on a Ray cluster, --track tracks the sweep in Weights & Biases.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# Classic control at 500k steps with the file's defaults, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/trpo.py --env-id CartPole-v1 --total-timesteps 500000" \
  --command "python algos/trpo.py --env-id Acrobot-v1 --total-timesteps 500000"

# LunarLander: 8 envs x 1000 steps per batch, the longer horizon the RL Zoo uses for PPO there
# (gamma 0.999, lambda 0.98) and reward scaling, 1M steps, 3 seeds. (Tuned on seed 3: with the
# default 4000-step batch, no reward scaling and gamma 0.999 the three seeds ended at 217, 111 and 38;
# with 4000 steps and reward scaling seed 3 reached 202 +- 94, with 8000 steps 236 +- 16.)
# Since 607f9dd the critic regresses on the lambda-returns instead of the reward-to-go: with
# the reward-to-go this command hovered on 2 of seeds 1-12, see benchmark/results/trpo.md.
# HalfCheetah: the file's Box defaults, 1M steps, 2 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/trpo.py --env-id LunarLander-v2 --total-timesteps 1000000 --num-envs 8 --gamma 0.999 --gae-lambda 0.98 --norm-reward"
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 \
  --command "python algos/trpo.py --env-id HalfCheetah-v5 --total-timesteps 1000000"

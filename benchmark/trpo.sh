#!/usr/bin/env bash
# Standard trpo benchmark runs. Run from the repository root:  bash benchmark/trpo.sh
# Then:  python benchmark/report.py --exp-name trpo --out benchmark/results/trpo
# Two workers for a 2-core machine; raise WORKERS on a bigger one.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# Classic control at 500k steps with the file's defaults, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" --seeds 1 2 3 \
  --command "python algos/trpo.py --env-id CartPole-v1 --total-timesteps 500000" \
  --command "python algos/trpo.py --env-id Acrobot-v1 --total-timesteps 500000"

# LunarLander: the file's defaults with the longer horizon the RL Zoo uses for PPO there
# (gamma 0.999, lambda 0.98), 1M steps, 3 seeds. HalfCheetah: the file's Box defaults, 1M steps, 2 seeds.
python benchmark/launch.py --workers "$WORKERS" --seeds 1 2 3 \
  --command "python algos/trpo.py --env-id LunarLander-v2 --total-timesteps 1000000 --gamma 0.999 --gae-lambda 0.98"
python benchmark/launch.py --workers "$WORKERS" --seeds 1 2 \
  --command "python algos/trpo.py --env-id HalfCheetah-v5 --total-timesteps 1000000"

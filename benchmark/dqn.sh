#!/usr/bin/env bash
# Standard DQN benchmark runs. Run from the repository root:  bash benchmark/dqn.sh
# Then:  python benchmark/report.py --exp-name dqn --out benchmark/results/dqn
# WORKERS runs at once on this machine (default 2, one per core); other arguments go to launch.py:
# --address host:port runs on a Ray cluster, --track tracks the sweep in Weights & Biases.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# Classic control at 500k steps with the file's defaults (CleanRL dqn.py's), 3 seeds. CartPole adds
# Double DQN: with plain DQN seed 3 ended at eval 328 (train 417 +- 103 over seeds); chosen on seeds 4
# and 5, where plain DQN evaluated 325.9 and 500 and Double DQN 500 and 500.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/dqn.py --env-id CartPole-v1 --total-timesteps 500000 --double-q" \
  --command "python algos/dqn.py --env-id Acrobot-v1 --total-timesteps 500000"

# LunarLander: the RL Zoo's DQN settings (256-256, lr 6.3e-4, buffer 50k, batch 128, a step every
# 4 env steps, target every 250, epsilon to 0.1 over 12% of training), 500k steps, 3 seeds.
python benchmark/launch.py --workers "$WORKERS" "$@" --seeds 1 2 3 \
  --command "python algos/dqn.py --env-id LunarLander-v2 --total-timesteps 500000 --hidden-sizes 256 256 --learning-rate 6.3e-4 --buffer-size 50000 --batch-size 128 --learning-starts 0 --train-frequency 4 --target-network-frequency 250 --exploration-fraction 0.12 --end-e 0.1"

#!/usr/bin/env bash
# The README's run commands, exactly as printed there, on seeds 1-5, one run at a time (so each wall
# time is what a user waits for on this machine). Then:
#   python benchmark/quickstart_report.py --out benchmark/results/quickstart.md
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-1}"
python benchmark/launch.py --workers "$WORKERS" --script-threads "$@" --seeds 1 2 3 4 5 --log-dir benchmark/logs/quickstart \
  --command "python algos/dqn.py --env-id CartPole-v1" \
  --command "python algos/a2c.py --env-id CartPole-v1" \
  --command "python algos/sac.py --env-id Pendulum-v1 --total-timesteps 20000 --learning-starts 1000" \
  --command "python algos/td3.py --env-id Pendulum-v1 --total-timesteps 20000 --learning-starts 1000" \
  --command "python algos/ddpg.py --env-id Pendulum-v1 --total-timesteps 20000 --learning-starts 1000" \
  --command "python algos/ppo_clip.py --env-id LunarLander-v2" \
  --command "python algos/vpg.py --env-id CartPole-v1" \
  --command "python algos/trpo.py --env-id CartPole-v1"

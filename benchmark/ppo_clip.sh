#!/usr/bin/env bash
# Standard PPO-Clip benchmark runs. Run from the repository root:  bash benchmark/ppo_clip.sh
# Then:  python benchmark/report.py --exp-name ppo_clip --out benchmark/results/ppo_clip
# Two workers for a 2-core machine; raise --workers on a bigger one.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-2}"

# LunarLander: exactly the RL Zoo's PPO settings (16 envs x 1024 steps, minibatch 64, 4 epochs,
# gamma 0.999, lambda 0.98, ent 0.01, constant lr 3e-4, no value clipping). 1M steps, 3 seeds.
# CartPole: our Discrete defaults (= CleanRL ppo.py), 500k steps, 3 seeds.
# HalfCheetah: our Box defaults (= the paper's MuJoCo settings), 1M steps, 2 seeds.
python benchmark/launch.py --workers "$WORKERS" --seeds 1 2 3 \
  --command "python algos/ppo_clip.py --env-id LunarLander-v2 --total-timesteps 1000000 --num-envs 16 --num-steps 1024 --num-minibatches 256 --update-epochs 4 --gamma 0.999 --gae-lambda 0.98 --ent-coef 0.01 --learning-rate 3e-4 --no-anneal-lr --no-clip-vloss" \
  --command "python algos/ppo_clip.py --env-id CartPole-v1 --total-timesteps 500000"
python benchmark/launch.py --workers "$WORKERS" --seeds 1 2 \
  --command "python algos/ppo_clip.py --env-id HalfCheetah-v5 --total-timesteps 1000000"

"""Stable-Baselines3's own A2C with the RL Zoo's LunarLander settings, as a reference for ours.

    python benchmark/sb3_a2c_lunarlander.py --seed 1 --steps 200000

The Zoo's A2C figure for LunarLander (155.8 +- 80.4, ANCHORS.md) is one agent trained for 200k steps
with 8 envs x 5 steps, gamma 0.995, lr 8.3e-4 annealed linearly to zero and entropy 1e-5. This trains
SB3's A2C with exactly those settings on LunarLander-v3 and prints its deterministic evaluation over
10 episodes and the mean of its last 100 training episodes. Needs the benchmark extra.
"""
import argparse

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--steps", type=int, default=200_000)
args = parser.parse_args()
torch.set_num_threads(1)
env = make_vec_env("LunarLander-v3", n_envs=8, seed=args.seed)
model = A2C("MlpPolicy", env, gamma=0.995, n_steps=5, learning_rate=lambda progress: progress * 8.3e-4,
            ent_coef=1e-5, seed=args.seed, device="cpu")
model.learn(args.steps)
train = [episode["r"] for episode in model.ep_info_buffer]
mean, std = evaluate_policy(model, gym.make("LunarLander-v3"), n_eval_episodes=10, deterministic=True)
print(f"SB3 A2C seed {args.seed}, {args.steps} steps: eval {mean:.1f} +- {std:.1f}, "
      f"train (last {len(train)} episodes) {np.mean(train):.1f}")

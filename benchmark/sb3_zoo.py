"""Stable-Baselines3's own A2C and TD3 with the RL Zoo's LunarLander settings, as references for ours.

    python benchmark/sb3_zoo.py --algo a2c --seed 1 --steps 200000
    python benchmark/sb3_zoo.py --algo td3 --seed 1 --steps 300000

The Zoo's figures (listed in benchmark/results/README.md) are one agent each, trained with the settings of
the Zoo's hyperparams/{a2c,td3}.yml:
- A2C, LunarLander (155.8 +- 80.4): 200k steps, 8 envs x 5 steps, gamma 0.995, lr 8.3e-4 annealed
  linearly to zero, entropy 1e-5.
- TD3, LunarLanderContinuous (207.5 +- 67.6): 300k steps, 400-300 networks, gamma 0.98, buffer 200k,
  lr 1e-3, 10k warm-up steps, Gaussian noise 0.1, and training once per episode with as many gradient
  steps as the episode had (train_freq (1, "episode"), gradient_steps -1); the rest SB3's defaults.
This trains SB3's algorithm with exactly those settings on the v3 environment and prints its
deterministic evaluation over 10 episodes and the mean of its last 100 training episodes. Needs the
benchmark extra.
"""

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C, TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--algo", choices=["a2c", "td3"], default="a2c")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--steps", type=int, default=None, help="default: the Zoo's budget (a2c 200k, td3 300k)")
args = parser.parse_args()
torch.set_num_threads(1)
start = time.time()
if args.algo == "a2c":
    env_id, steps = "LunarLander-v3", args.steps or 200_000
    model = A2C(
        "MlpPolicy",
        make_vec_env(env_id, n_envs=8, seed=args.seed),
        gamma=0.995,
        n_steps=5,
        learning_rate=lambda progress: progress * 8.3e-4,
        ent_coef=1e-5,
        seed=args.seed,
        device="cpu",
    )
else:
    env_id, steps = "LunarLanderContinuous-v3", args.steps or 300_000
    model = TD3(
        "MlpPolicy",
        make_vec_env(env_id, n_envs=1, seed=args.seed),
        gamma=0.98,
        buffer_size=200_000,
        learning_starts=10_000,
        action_noise=NormalActionNoise(np.zeros(2), 0.1 * np.ones(2)),
        gradient_steps=-1,
        train_freq=(1, "episode"),
        learning_rate=1e-3,
        policy_kwargs=dict(net_arch=[400, 300]),
        seed=args.seed,
        device="cpu",
    )
model.learn(steps)
train = [episode["r"] for episode in model.ep_info_buffer]
mean, std = evaluate_policy(model, Monitor(gym.make(env_id)), n_eval_episodes=10, deterministic=True)
print(
    f"SB3 {args.algo.upper()} seed {args.seed}, {steps} steps: eval {mean:.1f} +- {std:.1f}, "
    f"train (last {len(train)} episodes) {np.mean(train):.1f}, {(time.time() - start) / 60:.1f} min"
)

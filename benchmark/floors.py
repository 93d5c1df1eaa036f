"""Where the time of two speed.md workloads goes, and how far any implementation could cut it.

    python benchmark/floors.py

Every implementation on gymnasium's vector env pays for stepping the envs; what is left to win is the
time around them. For each workload this script measures, one torch thread, nothing else running:
- PPO with the RL Zoo's LunarLander settings (1M steps, 16 envs x 1024 steps, 4 epochs of 256 minibatches
  of 64): stepping 16 LunarLander-v3 envs through SyncVectorEnv with random actions for 1M steps, one
  sampling forward pass per vector step, and ppo_clip.py's minibatch step (loss, backward, gradient
  clipping, fused Adam), eager and under `torch.compile` (whose compile time is reported), times the
  62,464 minibatch steps of a 1M-step run.
- DQN on CartPole-v1, 50k steps learning from 10k every 10 steps: stepping the env with random actions
  for 50k steps, one greedy forward pass per step after learning starts, and dqn.py's 4,000 gradient steps.
"""

import os
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "algos"))
import dqn  # noqa: E402
import ppo_clip  # noqa: E402


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def step_envs(env_id: str, num_envs: int, vector_steps: int):
    envs = gym.vector.SyncVectorEnv(
        [ppo_clip.make_env(env_id) for _ in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    envs.reset(seed=1)
    envs.action_space.seed(1)
    for _ in range(vector_steps):
        envs.step(envs.action_space.sample())
    envs.close()


def forward_passes(net, obs_dim: int, batch: int, calls: int):
    x = torch.randn(batch, obs_dim)
    for _ in range(calls):
        with torch.no_grad():
            net(x)


def ppo_update(compiled: bool, minibatches: int) -> tuple[float, float]:
    """Seconds of the first 256 minibatch steps (compilation included) and per step after them."""
    agent = ppo_clip.Agent(8, gym.spaces.Discrete(4), (64, 64))
    optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5, fused=True)
    n = 16384
    obs, actions = torch.randn(n, 8), torch.randint(0, 4, (n,)).float()
    old_logprobs, advantages, returns, old_values = -1.4 + 0.1 * torch.randn(n), torch.randn(n), *torch.randn(2, n)

    def loss_fn(mb_obs, mb_actions, mb_old_logprobs, mb_advantages, mb_returns, mb_old_values):
        newlogprob, entropy, newvalue = agent.evaluate_actions(mb_obs, mb_actions)
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
        pg_loss = ppo_clip.clipped_surrogate_loss(newlogprob - mb_old_logprobs, mb_advantages, 0.2)
        v_loss = ppo_clip.value_loss(newvalue, mb_old_values, mb_returns, 0.2, False)
        return pg_loss - 0.01 * entropy.mean() + 0.5 * v_loss

    loss_fn = torch.compile(loss_fn) if compiled else loss_fn

    def run(steps):
        for _ in range(steps):
            idx = torch.randint(0, n, (64,))
            loss = loss_fn(obs[idx], actions[idx], old_logprobs[idx], advantages[idx], returns[idx], old_values[idx])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), 0.5, foreach=True)
            optimizer.step()

    first = timed(run, 256)
    return first, timed(run, minibatches) / minibatches


def dqn_gradient_steps(steps: int):
    q_network, target_network = dqn.QNetwork(4, 2, (120, 84)), dqn.QNetwork(4, 2, (120, 84))
    optimizer = torch.optim.Adam(q_network.parameters(), lr=2.5e-4, fused=True)
    rb = dqn.ReplayBuffer(10_000, 4, (), np.int64, seed=1)
    rng = np.random.default_rng(1)
    for _ in range(10_000):
        rb.add(rng.normal(size=(1, 4)), rng.normal(size=(1, 4)), rng.integers(0, 2, 1), np.ones(1), np.zeros(1))
    for _ in range(steps):
        data = rb.sample(128, torch.device("cpu"))
        target_q = dqn.td_targets(data, q_network, target_network, 0.99, False)
        q_values = q_network(data["obs"]).gather(-1, data["actions"][:, None]).squeeze(-1)
        loss = F.mse_loss(q_values, target_q)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    rows = ["| workload | part | seconds |", "|---|---|---|"]

    vector_steps = 1_000_000 // 16
    env = timed(step_envs, "LunarLander-v3", 16, vector_steps)
    sample = timed(forward_passes, ppo_clip.Agent(8, gym.spaces.Discrete(4), (64, 64)).sample, 8, 16, vector_steps)
    minibatches = (1_000_000 // 16384) * 4 * 256
    eager_first, eager = ppo_update(False, 2048)
    compiled_first, compiled = ppo_update(True, 2048)
    rows += [
        f"| PPO LunarLander 1M, Zoo settings | 16 envs stepped 62,500 times, random actions | {env:.1f} |",
        f"| | 62,500 sampling forward passes (batch 16) | {sample:.1f} |",
        f"| | {minibatches:,} minibatch steps, eager ({eager * 1e3:.2f} ms each) | {minibatches * eager:.1f} |",
        f"| | the same under torch.compile ({compiled * 1e3:.2f} ms each) | {minibatches * compiled:.1f} |",
        f"| | first 256 steps compiled, compiling included (eager {eager_first:.1f}) | {compiled_first:.1f} |",
    ]

    env = timed(step_envs, "CartPole-v1", 1, 50_000)
    greedy = timed(forward_passes, dqn.QNetwork(4, 2, (120, 84)), 4, 1, 40_000)
    gradient = timed(dqn_gradient_steps, 4000)
    rows += [
        f"| DQN CartPole 50k | 1 env stepped 50,000 times, random actions | {env:.1f} |",
        f"| | 40,000 greedy forward passes (batch 1) | {greedy:.1f} |",
        f"| | 4,000 gradient steps (batch 128, fused Adam) | {gradient:.1f} |",
    ]
    print(f"Measured with `python benchmark/floors.py` (torch {torch.__version__}, gymnasium {gym.__version__}).\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

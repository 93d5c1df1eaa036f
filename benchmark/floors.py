"""Where the time of speed.md's workloads goes, and the floor under it.

    python benchmark/floors.py
    python benchmark/floors.py --against-sb3 3

Every implementation on gymnasium's vector env pays for stepping the envs, and one with our arithmetic
pays for its forward passes and gradient steps; the sum, measured here part by part with nothing else
running, is the least wall time such a run could take. Stable-Baselines3's measured time divided by it
bounds the ratio any cut of our remaining overhead could reach. Parts:
- envs stepped with random actions through SyncVectorEnv (SAME_STEP, with RecordEpisodeStatistics);
- the acting forward passes (one per vector step, at the env count's batch);
- the gradient steps, as the file takes them (PPO: loss, backward, gradient clipping, fused Adam on
  minibatches; also under `torch.compile`, its compile time reported; DQN, DDPG, TD3 and SAC: sample,
  target, loss, backward, fused Adam, and the actor, temperature and Polyak steps at the files'
  default frequencies); TD3's also with its twin critics as one batched network (stacked weights, one
  `torch.baddbmm` per layer).
Parts timed alone run faster than inside a training loop, where the env's Python code, the acting pass
and the gradient step take turns in the CPU's caches. For DQN and for PPO on CartPole, where those parts
are small, they also run interleaved in one loop as the file runs them, without its bookkeeping (DQN: replay
writes, exploration, logging; PPO: the log-prob pass, GAE, logging): the least time a loop of this shape
takes here.
Threads as the files default: one for PPO and DQN, torch's default for DDPG, TD3 and SAC.

`--against-sb3 N` instead runs, N times in turn, speed.py's dqn_50k and ppo_cartpole cases on both sides
and the interleaved floor of each, so that the ceiling SB3 / floor comes from times taken side by side.
"""

import argparse
import copy
import os
import statistics
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "algos"))
import ddpg  # noqa: E402
import dqn  # noqa: E402
import ppo_clip  # noqa: E402
import sac  # noqa: E402
import td3  # noqa: E402


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


def ppo_minibatch_steps(obs_dim, n_actions, size, ent_coef, clip_vloss, compiled):
    """ppo_clip.py's agent and a function that takes `steps` minibatch steps as the file does, on random data."""
    agent = ppo_clip.Agent(obs_dim, gym.spaces.Discrete(n_actions), (64, 64))
    optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5, fused=True)
    n = 16384
    obs, actions = torch.randn(n, obs_dim), torch.randint(0, n_actions, (n,)).float()
    old_logprobs, advantages, returns, old_values = -1.4 + 0.1 * torch.randn(n), torch.randn(n), *torch.randn(2, n)

    def loss_fn(mb_obs, mb_actions, mb_old_logprobs, mb_advantages, mb_returns, mb_old_values):
        newlogprob, entropy, newvalue = agent.evaluate_actions(mb_obs, mb_actions)
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
        pg_loss = ppo_clip.clipped_surrogate_loss(newlogprob - mb_old_logprobs, mb_advantages, 0.2)
        v_loss = ppo_clip.value_loss(newvalue, mb_old_values, mb_returns, 0.2, clip_vloss)
        return pg_loss - ent_coef * entropy.mean() + 0.5 * v_loss

    loss_fn = torch.compile(loss_fn) if compiled else loss_fn

    def run(steps):
        for _ in range(steps):
            idx = torch.randint(0, n, (size,))
            loss = loss_fn(obs[idx], actions[idx], old_logprobs[idx], advantages[idx], returns[idx], old_values[idx])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), 0.5, foreach=True)
            optimizer.step()

    return agent, run


def ppo_update(obs_dim, n_actions, size, ent_coef, clip_vloss, compiled, minibatches) -> tuple[float, float]:
    """Seconds of the first 256 minibatch steps (compilation included) and per step after them."""
    _, run = ppo_minibatch_steps(obs_dim, n_actions, size, ent_coef, clip_vloss, compiled)
    first = timed(run, 256)
    return first, timed(run, minibatches) / minibatches


def ppo_cartpole_interleaved():
    """ppo_clip.py's loop at CleanRL's CartPole settings reduced to its floor parts, in its order: 195 rollouts
    of 128 steps of 4 envs, a sampling pass per step, each rollout followed by 16 minibatch steps of 128."""
    agent, run = ppo_minibatch_steps(4, 2, 128, 0.01, True, False)
    envs = gym.vector.SyncVectorEnv(
        [ppo_clip.make_env("CartPole-v1") for _ in range(4)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    obs, _ = envs.reset(seed=1)
    for _ in range(100_000 // 512):
        for _ in range(128):
            with torch.no_grad():
                action = agent.sample(torch.as_tensor(obs))
            obs, *_ = envs.step(action.numpy())
        run(16)
    envs.close()


def filled_dqn_buffer():
    rb, rng = dqn.ReplayBuffer(10_000, 4, (), np.int64, seed=1), np.random.default_rng(1)
    for _ in range(10_000):
        rb.add(rng.normal(size=(1, 4)), rng.normal(size=(1, 4)), rng.integers(0, 2, 1), np.ones(1), np.zeros(1))
    return rb


def dqn_learner(rb):
    """dqn.py's Q-network and a function that takes one gradient step as the file takes it."""
    q_network, target_network = dqn.QNetwork(4, 2, (120, 84)), dqn.QNetwork(4, 2, (120, 84))
    optimizer = torch.optim.Adam(q_network.parameters(), lr=2.5e-4, fused=True)

    def gradient_step():
        data = rb.sample(128, torch.device("cpu"))
        target_q = dqn.td_targets(data, q_network, target_network, 0.99, False)
        q_values = q_network(data["obs"]).gather(-1, data["actions"][:, None]).squeeze(-1)
        loss = F.mse_loss(q_values, target_q)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return q_network, gradient_step


def dqn_gradient_steps(rb, steps: int):
    _, gradient_step = dqn_learner(rb)
    for _ in range(steps):
        gradient_step()


def dqn_interleaved(rb):
    """dqn.py's loop reduced to its three floor parts, in its order: 50k env steps, a greedy pass on each
    step after the first 10k and a gradient step on every tenth of them."""
    q_network, gradient_step = dqn_learner(rb)
    envs = gym.vector.SyncVectorEnv([dqn.make_env("CartPole-v1")], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=1)
    envs.action_space.seed(1)
    for step in range(1, 50_001):
        actions = envs.action_space.sample()
        if step > 10_000:
            with torch.no_grad():
                q_network(torch.as_tensor(obs)).argmax(-1).numpy()
        obs, *_ = envs.step(actions)
        if step > 10_000 and step % 10 == 0:
            gradient_step()
    envs.close()


def filled_pendulum_buffer(module):
    rb, rng = module.ReplayBuffer(15_000, 3, (1,), np.float32, seed=1), np.random.default_rng(1)
    for _ in range(15_000):
        rb.add(
            rng.normal(size=(1, 3)), rng.normal(size=(1, 3)), rng.uniform(-2, 2, (1, 1)), -rng.random(1), np.zeros(1)
        )
    return rb


def ddpg_updates(steps: int):
    """ddpg.py's update at its defaults: a critic step, then (policy_frequency 1) the actor and Polyak steps."""
    actor, qf1 = ddpg.Actor(3, gym.make("Pendulum-v1").action_space, (256, 256)), ddpg.QNetwork(3, 1, (256, 256))
    target_actor, qf1_target = copy.deepcopy(actor), copy.deepcopy(qf1)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4, fused=True)
    q_optimizer = torch.optim.Adam(qf1.parameters(), lr=3e-4, fused=True)
    rb = filled_pendulum_buffer(ddpg)
    for _ in range(steps):
        data = rb.sample(256, torch.device("cpu"))
        target_q = ddpg.td_targets(data, target_actor, qf1_target, 0.99)
        qf1_loss = F.mse_loss(qf1(data["obs"], data["actions"]), target_q)
        q_optimizer.zero_grad()
        qf1_loss.backward()
        q_optimizer.step()
        actor_loss = -qf1(data["obs"], actor(data["obs"])).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        ddpg.soft_update(target_actor, actor, 0.005)
        ddpg.soft_update(qf1_target, qf1, 0.005)


def sac_updates(steps: int):
    """sac.py's update at its defaults: a critic step and Polyak update each step, and every second step two
    actor and temperature steps (policy_frequency 2, autotune)."""
    action_space = gym.make("Pendulum-v1").action_space
    actor, qf1, qf2 = sac.Actor(3, action_space, (256, 256)), *(sac.QNetwork(3, 1, (256, 256)) for _ in "12")
    qf1_target, qf2_target = copy.deepcopy(qf1), copy.deepcopy(qf2)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4, fused=True)
    q_optimizer = torch.optim.Adam([*qf1.parameters(), *qf2.parameters()], lr=1e-3, fused=True)
    target_entropy = sac.default_target_entropy(action_space)
    log_alpha = torch.tensor(float(np.log(0.2)), requires_grad=True)
    alpha_optimizer, alpha = torch.optim.Adam([log_alpha], lr=1e-3, fused=True), 0.2
    rb = filled_pendulum_buffer(sac)
    for step in range(1, steps + 1):
        data = rb.sample(256, torch.device("cpu"))
        target_q = sac.td_targets(data, actor, qf1_target, qf2_target, alpha, 0.99)
        qf_loss = F.mse_loss(qf1(data["obs"], data["actions"]), target_q)
        qf_loss = qf_loss + F.mse_loss(qf2(data["obs"], data["actions"]), target_q)
        q_optimizer.zero_grad()
        qf_loss.backward()
        q_optimizer.step()
        for _ in range(2 if step % 2 == 0 else 0):
            pi, log_pi = actor.get_action(data["obs"])
            actor_loss = (alpha * log_pi - torch.min(qf1(data["obs"], pi), qf2(data["obs"], pi))).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            alpha_loss = sac.temperature_loss(log_alpha, log_pi.detach(), target_entropy)
            alpha_optimizer.zero_grad()
            alpha_loss.backward()
            alpha_optimizer.step()
            alpha = log_alpha.exp().item()
        sac.soft_update(qf1_target, qf1, 0.005)
        sac.soft_update(qf2_target, qf2, 0.005)


class TwinQ(nn.Module):
    """td3.py's two critics as one network: each layer's two weight matrices stacked, one batched product."""

    def __init__(self, qf1, qf2):
        super().__init__()
        layers = [(a, b) for a, b in zip(qf1.net, qf2.net) if isinstance(a, nn.Linear)]
        self.weights = nn.ParameterList(nn.Parameter(torch.stack([a.weight.T, b.weight.T])) for a, b in layers)
        self.biases = nn.ParameterList(nn.Parameter(torch.stack([a.bias, b.bias])[:, None]) for a, b in layers)

    def forward(self, obs, action):
        x = torch.cat([obs, action], -1).expand(2, -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            x = F.relu(x) if i < len(self.weights) - 1 else x
        return x.squeeze(-1)


def td3_updates(steps: int, batched: bool):
    env = gym.make("Pendulum-v1")
    actor, qf1, qf2 = td3.Actor(3, env.action_space, (256, 256)), *(td3.QNetwork(3, 1, (256, 256)) for _ in "12")
    qf = TwinQ(qf1, qf2) if batched else None
    target_actor, qf1_target, qf2_target, qf_target = (copy.deepcopy(m) for m in (actor, qf1, qf2, qf))
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4, fused=True)
    critic_params = qf.parameters() if batched else [*qf1.parameters(), *qf2.parameters()]
    q_optimizer = torch.optim.Adam(critic_params, lr=3e-4, fused=True)
    rb = filled_pendulum_buffer(td3)
    for step in range(1, steps + 1):
        data = rb.sample(256, torch.device("cpu"))
        if batched:
            with torch.no_grad():
                next_actions = td3.smoothed_target_actions(target_actor, data["next_obs"], 0.2, 0.5)
                next_q = qf_target(data["next_obs"], next_actions).min(0).values
                target_q = data["rewards"] + 0.99 * (1.0 - data["terminations"]) * next_q
            qf_loss = F.mse_loss(qf(data["obs"], data["actions"]), target_q.expand(2, -1)) * 2
        else:
            target_q = td3.td_targets(data, target_actor, qf1_target, qf2_target, 0.99, 0.2, 0.5)
            qf_loss = F.mse_loss(qf1(data["obs"], data["actions"]), target_q)
            qf_loss = qf_loss + F.mse_loss(qf2(data["obs"], data["actions"]), target_q)
        q_optimizer.zero_grad()
        qf_loss.backward()
        q_optimizer.step()
        if step % 2 == 0:
            actions = actor(data["obs"])
            actor_loss = -(qf(data["obs"], actions)[0] if batched else qf1(data["obs"], actions)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            for target, source in (
                [(target_actor, actor), (qf_target, qf)]
                if batched
                else [(target_actor, actor), (qf1_target, qf1), (qf2_target, qf2)]
            ):
                td3.soft_update(target, source, 0.005)


def main():
    default_threads = torch.get_num_threads()
    torch.manual_seed(1)
    rows = ["| workload | part | seconds |", "|---|---|---|"]

    def add(workload, parts):
        for k, (part, seconds) in enumerate(parts):
            rows.append(f"| {workload if k == 0 else ''} | {part} | {seconds:.1f} |")

    torch.set_num_threads(1)
    for workload, env_id, obs_dim, n_actions, num_envs, vector_steps, size, minibatches, ent, clip_vloss in [
        ("PPO CartPole-v1 100k, CleanRL's settings", "CartPole-v1", 4, 2, 4, 24_960, 128, 3120, 0.01, True),
        ("PPO LunarLander-v3 1M, RL Zoo settings", "LunarLander-v3", 8, 4, 16, 62_464, 64, 62_464, 0.01, False),
    ]:
        agent = ppo_clip.Agent(obs_dim, gym.spaces.Discrete(n_actions), (64, 64))
        env_seconds = timed(step_envs, env_id, num_envs, vector_steps)
        sample_seconds = timed(forward_passes, agent.sample, obs_dim, num_envs, vector_steps)
        eager_first, eager = ppo_update(obs_dim, n_actions, size, ent, clip_vloss, False, 2048)
        compiled_first, compiled = ppo_update(obs_dim, n_actions, size, ent, clip_vloss, True, 2048)
        add(workload, [
            (f"{num_envs} envs stepped {vector_steps:,} times, random actions", env_seconds),
            (f"{vector_steps:,} sampling forward passes (batch {num_envs})", sample_seconds),
            (f"{minibatches:,} minibatch steps of {size}, eager ({eager * 1e3:.2f} ms each)", minibatches * eager),
            (f"the same under torch.compile ({compiled * 1e3:.2f} ms each)", minibatches * compiled),
            (f"first 256 minibatch steps compiled, compiling included (eager {eager_first:.2f})", compiled_first),
        ])  # fmt: skip
        if env_id == "CartPole-v1":
            interleaved = timed(ppo_cartpole_interleaved)
            add("", [("the three eager parts interleaved in one loop, as ppo_clip.py runs them", interleaved)])

    add("DQN CartPole-v1 50k, learning from 10k every 10 steps", [
        ("1 env stepped 50,000 times, random actions", timed(step_envs, "CartPole-v1", 1, 50_000)),
        ("40,000 greedy forward passes (batch 1)", timed(forward_passes, dqn.QNetwork(4, 2, (120, 84)), 4, 1, 40_000)),
        ("4,000 gradient steps (batch 128)", timed(dqn_gradient_steps, filled_dqn_buffer(), 4000)),
        ("the three interleaved in one loop, as dqn.py runs them", timed(dqn_interleaved, filled_dqn_buffer())),
    ])  # fmt: skip

    torch.set_num_threads(default_threads)  # torch's default count, which td3.py keeps
    actor_space = gym.make("Pendulum-v1").action_space
    actor = td3.Actor(3, actor_space, (256, 256))
    add(f"TD3 Pendulum-v1 15k, learning from 5k ({torch.get_num_threads()} threads)", [
        ("1 env stepped 15,000 times, random actions", timed(step_envs, "Pendulum-v1", 1, 15_000)),
        ("10,000 actor forward passes (batch 1)", timed(forward_passes, actor, 3, 1, 10_000)),
        ("10,000 updates as td3.py takes them", timed(td3_updates, 10_000, False)),
        ("the same with the twin critics batched", timed(td3_updates, 10_000, True)),
    ])  # fmt: skip
    ddpg_actor = ddpg.Actor(3, actor_space, (256, 256))
    add(f"DDPG Pendulum-v1 15k, learning from 5k ({torch.get_num_threads()} threads)", [
        ("10,000 actor forward passes (batch 1)", timed(forward_passes, ddpg_actor, 3, 1, 10_000)),
        ("10,000 updates as ddpg.py takes them", timed(ddpg_updates, 10_000)),
    ])  # fmt: skip
    sac_actor = sac.Actor(3, actor_space, (256, 256))
    add(f"SAC Pendulum-v1 15k, learning from 5k ({torch.get_num_threads()} threads)", [
        ("10,000 sampling actor passes (batch 1)", timed(forward_passes, sac_actor.get_action, 3, 1, 10_000)),
        ("10,000 updates as sac.py takes them", timed(sac_updates, 10_000)),
    ])  # fmt: skip
    print(f"Measured with `python benchmark/floors.py` (torch {torch.__version__}, gymnasium {gym.__version__}).\n")
    print("\n".join(rows))


def against_sb3(repeats: int):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import speed

    print(f"Measured with `python benchmark/floors.py --against-sb3 {repeats}` (torch {torch.__version__}).\n")
    print("| workload | run | ours | interleaved floor | SB3 | SB3 / ours | ceiling: SB3 / floor |")
    print("|---|---|---|---|---|---|---|")
    for name, workload, floor_loop in [
        ("dqn_50k", "DQN CartPole-v1 50k", lambda: dqn_interleaved(filled_dqn_buffer())),
        ("ppo_cartpole", "PPO CartPole-v1 100k", ppo_cartpole_interleaved),
    ]:
        times = {"ours": [], "floor": [], "SB3": []}
        for _ in range(repeats):  # interleaved, so that drift in the machine's speed hits all three alike
            for impl, key in (("ours", "ours"), ("sb3", "SB3")):
                result = speed.measure(impl, speed.CASES[name], None)
                times[key].append(result["steps"] / result["sps"])
            torch.set_num_threads(1)  # the default of dqn.py and ppo_clip.py
            times["floor"].append(timed(floor_loop))
        rows = [(f"run {k + 1}", *(times[key][k] for key in ("ours", "floor", "SB3"))) for k in range(repeats)]
        rows.append(("median", *(statistics.median(times[key]) for key in ("ours", "floor", "SB3"))))
        for k, (run, ours, floor, sb3) in enumerate(rows):
            cells = f"{ours:.1f} s | {floor:.1f} s | {sb3:.1f} s | {sb3 / ours:.2f}x | {sb3 / floor:.2f}x"
            print(f"| {workload if k == 0 else ''} | {run} | {cells} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against-sb3", type=int, metavar="N", help="interleaved floors beside SB3, N times")
    cli = parser.parse_args()
    if cli.against_sb3:
        against_sb3(cli.against_sb3)
    else:
        main()

"""Wall time of our scripts against Stable-Baselines3, side by side on this machine.

    python benchmark/speed.py --out benchmark/results/speed_table.md
    python benchmark/speed.py --cases ppo_lunar --repeats 1

Every case trains the same env for the same number of steps with the same hyperparameters and network
sizes in both implementations, each run in its own fresh process, one after the other and interleaved
(run nothing else at the same time). Each side keeps its own default torch thread count, as a user's
single run would (`--ours-threads 1 2` adds our scripts at fixed thread counts). Time = wall time of the
whole training call (env and model construction included, interpreter start-up and imports excluded);
SPS = environment steps / that time. Each configuration runs `--repeats` times (a case may set fewer)
and the median is kept. Needs the benchmark extra (stable-baselines3).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Same hyperparameters on both sides. "ours" are the script's flags (Args fields) on top of its defaults;
# "sb3" are the matching SB3 constructor arguments (SB3 batch_size = minibatch size).
PPO_SB3 = dict(learning_rate=3e-4, clip_range=0.2, clip_range_vf=None, vf_coef=0.5, max_grad_norm=0.5,
               normalize=False, net_arch=dict(pi=[64, 64], vf=[64, 64]), tanh=True)  # fmt: skip
DQN_SB3 = dict(learning_rate=2.5e-4, buffer_size=10_000, batch_size=128, learning_starts=10_000, train_freq=10,
               gradient_steps=1, target_update_interval=500, tau=1.0, gamma=0.99, exploration_fraction=0.5,
               exploration_final_eps=0.05, net_arch=[120, 84])  # fmt: skip
OFF_SB3 = dict(batch_size=256, learning_rate=3e-4, train_freq=1, gradient_steps=1, tau=0.005, gamma=0.99,
               net_arch=[256, 256])  # fmt: skip
TD3_SB3 = dict(policy_delay=2, target_policy_noise=0.2, target_noise_clip=0.5, action_noise_std=0.1)
# fmt: off
CASES = {
    # The README's quickstart commands (their own defaults on our side).
    "ppo_lunar": {"algo": "ppo_clip", "env_id": "LunarLander-v3", "steps": 1_000_000, "sb3_algo": "PPO", "repeats": 1,
                  "ours": dict(),  # the defaults: the RL Zoo's LunarLander settings
                  "sb3": dict(PPO_SB3, n_envs=16, n_steps=1024, batch_size=64, n_epochs=4, gamma=0.999,
                              gae_lambda=0.98, ent_coef=0.01)},
    "dqn_quickstart": {"algo": "dqn", "env_id": "CartPole-v1", "steps": 500_000, "sb3_algo": "DQN", "repeats": 1,
                       "ours": dict(), "sb3": DQN_SB3},
    "a2c_quickstart": {"algo": "a2c", "env_id": "CartPole-v1", "steps": 500_000, "sb3_algo": "A2C", "repeats": 1,
                       "ours": dict(),
                       "sb3": dict(n_envs=8, n_steps=5, learning_rate=7e-4, gamma=0.99, gae_lambda=1.0, ent_coef=0.0,
                                   vf_coef=0.5, max_grad_norm=0.5, use_rms_prop=True, rms_prop_eps=1e-5, anneal=True,
                                   normalize=False, net_arch=dict(pi=[64, 64], vf=[64, 64]), tanh=True)},
    **{f"{algo}_quickstart": {"algo": algo, "env_id": "Pendulum-v1", "steps": 20_000, "sb3_algo": algo.upper(),
                              "repeats": 1, "ours": dict(learning_starts=1000), "sb3": dict(sb3, learning_starts=1000)}
       for algo, sb3 in [("td3", dict(OFF_SB3, **TD3_SB3)), ("sac", dict(OFF_SB3, ent_coef="auto")),
                         ("ddpg", dict(OFF_SB3, action_noise_std=0.1))]},
    # Shorter workloads, measured three times.
    "ppo_cartpole": {"algo": "ppo_clip", "env_id": "CartPole-v1", "steps": 100_000, "sb3_algo": "PPO",
                     "ours": dict(num_envs=4, num_steps=128, num_minibatches=4, update_epochs=4, learning_rate=2.5e-4,
                                  gamma=0.99, gae_lambda=0.95, ent_coef=0.01, clip_vloss=True, anneal_lr=True),
                     "sb3": dict(PPO_SB3, n_envs=4, n_steps=128, batch_size=128, n_epochs=4, learning_rate=2.5e-4,
                                 ent_coef=0.01, gamma=0.99, gae_lambda=0.95, clip_range_vf=0.2, anneal=True)},
    "dqn_50k": {"algo": "dqn", "env_id": "CartPole-v1", "steps": 50_000, "sb3_algo": "DQN",
                "ours": dict(), "sb3": DQN_SB3},
    **{f"{algo}_15k": {"algo": algo, "env_id": "Pendulum-v1", "steps": 15_000, "sb3_algo": algo.upper(),
                       "ours": dict(learning_starts=5000), "sb3": dict(sb3, learning_starts=5000)}
       for algo, sb3 in [("td3", dict(OFF_SB3, **TD3_SB3)), ("sac", dict(OFF_SB3, ent_coef="auto")),
                         ("ddpg", dict(OFF_SB3, action_noise_std=0.1))]},
}
# fmt: on

WORKER = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
import torch
import torch._dynamo  # imported lazily by the first optimiser (1.6 s here): an import, so not timed, on both sides
if spec["threads"]:
    torch.set_num_threads(spec["threads"])
if spec["impl"] == "ours":
    import importlib.util
    s = importlib.util.spec_from_file_location("algo", spec["path"])
    algo = importlib.util.module_from_spec(s); s.loader.exec_module(algo)
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["kw"].items()}
    if spec["threads"]:
        kw["torch_threads"] = spec["threads"]
    args = algo.Args(env_id=spec["env_id"], total_timesteps=spec["steps"], eval_episodes=0, seed=1, **kw)
    start = time.perf_counter()
    out = algo.main(args)
    steps = out["global_step"]
else:
    import torch.nn as nn
    import stable_baselines3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize
    import numpy as np
    from stable_baselines3.common.noise import NormalActionNoise
    kw = dict(spec["kw"])
    anneal, normalize = kw.pop("anneal", False), kw.pop("normalize", False)
    lr = kw.pop("learning_rate")
    policy_kwargs = dict(net_arch=kw.pop("net_arch"))
    if kw.pop("tanh", False):
        policy_kwargs["activation_fn"] = nn.Tanh
    start = time.perf_counter()
    env = make_vec_env(spec["env_id"], n_envs=kw.pop("n_envs", 1), seed=1)
    if normalize:
        env = VecNormalize(env, gamma=0.99)
    if "action_noise_std" in kw:
        half_range = (env.action_space.high - env.action_space.low) / 2.0
        kw["action_noise"] = NormalActionNoise(np.zeros_like(half_range), kw.pop("action_noise_std") * half_range)
    model = getattr(stable_baselines3, spec["sb3_algo"])(
        "MlpPolicy", env, learning_rate=(lambda f: f * lr) if anneal else lr, seed=1, device="cpu", verbose=0,
        policy_kwargs=policy_kwargs, **kw)
    model.learn(spec["steps"])
    steps = model.num_timesteps
print("RESULT", json.dumps({"sps": steps / (time.perf_counter() - start), "steps": steps}))
"""


def measure(impl: str, case: dict, threads) -> dict:
    spec = {
        "impl": impl,
        "env_id": case["env_id"],
        "steps": case["steps"],
        "threads": threads,
        "sb3_algo": case["sb3_algo"],
        "kw": {k: list(v) if isinstance(v, tuple) else v for k, v in case[impl].items()},
        "path": os.path.join(ROOT, "algos", f"{case['algo']}.py"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=os.environ.get("TMPDIR", "/tmp"),
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: {impl} {case['algo']} {case['env_id']} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ours-threads", type=int, nargs="*", default=[], help="also run ours at these thread counts")
    parser.add_argument("--out", default=None, help="write the markdown table here")
    args = parser.parse_args()
    import stable_baselines3
    import torch

    flags = f" --cases {' '.join(args.cases)}" if args.cases != list(CASES) else ""
    flags += f" --repeats {args.repeats}" if args.repeats != 3 else ""
    flags += f" --ours-threads {' '.join(map(str, args.ours_threads))}" if args.ours_threads else ""
    configs = [("ours", "ours", None)] + [(f"ours, {t} thr.", "ours", t) for t in args.ours_threads]
    configs += [("SB3", "sb3", None)]
    rows = [
        f"Measured with `python benchmark/speed.py{flags}` (torch {torch.__version__}, stable-baselines3 "
        f"{stable_baselines3.__version__}, {os.cpu_count()} CPUs, default torch threads {torch.get_num_threads()}).\n",
        "| case | algo | env | steps | "
        + " | ".join(f"{label} time (SPS)" for label, _, _ in configs)
        + " | SB3 / ours |",
        "|---|---|---|---|" + "---|" * len(configs) + "---|",
    ]
    for name in args.cases:
        case = CASES[name]
        times = {label: [] for label, _, _ in configs}
        # Interleaved (ours, SB3, ours, SB3, ...) so that drift in the machine's speed over the
        # minutes of a measurement hits both sides alike.
        for _ in range(min(args.repeats, case.get("repeats", args.repeats))):
            for label, impl, threads in configs:
                result = measure(impl, case, threads)
                times[label].append(result["steps"] / result["sps"])
        for label, values in times.items():
            print(f"{name} {label}: {', '.join(f'{t:.1f}' for t in values)} s", flush=True)
        median = {label: statistics.median(values) for label, values in times.items()}
        cells = " | ".join(f"{median[label]:.1f} s ({case['steps'] / median[label]:.0f})" for label, _, _ in configs)
        rows.append(
            f"| {name} | {case['algo']} | {case['env_id']} | {case['steps']} | {cells} | "
            f"{median['SB3'] / median['ours']:.2f}x |"
        )
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

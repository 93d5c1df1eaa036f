"""Steps per second of our scripts against Stable-Baselines3, side by side on this machine.

    python benchmark/speed.py --algos ppo_clip --out benchmark/results/speed.md

Every case trains the same env for the same number of steps with the same hyperparameters in both
implementations, each run in its own fresh process, one after the other and interleaved (run nothing
else at the same time). SPS = environment steps / wall time of the whole training call (env and
model construction included, interpreter start-up and imports excluded). SB3 runs twice: with torch's
default thread count and with one thread (ours uses one); the ratio is taken against SB3's faster
one. Each configuration is measured `--repeats` times and the median kept. Needs the benchmark
extra (stable-baselines3).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Same hyperparameters on both sides. "ours" are ppo_clip.py flags (Args fields); "sb3" are the
# matching SB3 constructor arguments (SB3 batch_size = minibatch size).
# fmt: off
CASES = {
    "ppo_clip": [
        {"env_id": "CartPole-v1", "steps": 100_000, "sb3_algo": "PPO",
         "ours": dict(num_envs=4, num_steps=128, num_minibatches=4, update_epochs=4, learning_rate=2.5e-4,
                      gamma=0.99, gae_lambda=0.95, ent_coef=0.01, clip_vloss=True, anneal_lr=True),
         "sb3": dict(n_envs=4, n_steps=128, batch_size=128, n_epochs=4, learning_rate=2.5e-4, ent_coef=0.01,
                     gamma=0.99, gae_lambda=0.95, clip_range=0.2, clip_range_vf=0.2, vf_coef=0.5, max_grad_norm=0.5,
                     anneal=True, normalize=False, net_arch=dict(pi=[64, 64], vf=[64, 64]), tanh=True)},
        {"env_id": "HalfCheetah-v5", "steps": 32_768, "sb3_algo": "PPO",
         "ours": dict(num_envs=1, num_steps=2048, num_minibatches=32, update_epochs=10, learning_rate=3e-4,
                      ent_coef=0.0, clip_vloss=True, anneal_lr=True),
         "sb3": dict(n_envs=1, n_steps=2048, batch_size=64, n_epochs=10, learning_rate=3e-4, ent_coef=0.0,
                     gamma=0.99, gae_lambda=0.95, clip_range=0.2, clip_range_vf=0.2, vf_coef=0.5, max_grad_norm=0.5,
                     anneal=True, normalize=True, net_arch=dict(pi=[64, 64], vf=[64, 64]), tanh=True)},
    ],
    "a2c": [
        {"env_id": "CartPole-v1", "steps": 100_000, "sb3_algo": "A2C",
         "ours": dict(num_envs=16, num_steps=5, learning_rate=7e-4, anneal_lr=True, gae_lambda=1.0, ent_coef=0.01),
         "sb3": dict(n_envs=16, n_steps=5, learning_rate=7e-4, gamma=0.99, gae_lambda=1.0, ent_coef=0.01,
                     vf_coef=0.5, max_grad_norm=0.5, use_rms_prop=True, rms_prop_eps=1e-5,
                     anneal=True, normalize=False, net_arch=dict(pi=[64, 64], vf=[64, 64]), tanh=True)},
    ],
    # Off-policy: one gradient step per environment step, learning from step 1000 of 5000, so the
    # measurement is dominated by the learning phase.
    "dqn": [
        {"env_id": "CartPole-v1", "steps": 20_000, "sb3_algo": "DQN",
         "ours": dict(learning_rate=2.5e-4, buffer_size=10_000, batch_size=128, learning_starts=1000, train_frequency=1,
                      target_network_frequency=500, tau=1.0, hidden_sizes=(120, 84)),
         "sb3": dict(learning_rate=2.5e-4, buffer_size=10_000, batch_size=128, learning_starts=1000, train_freq=1,
                     gradient_steps=1, target_update_interval=500, tau=1.0, gamma=0.99, exploration_fraction=0.5,
                     exploration_final_eps=0.05, net_arch=[120, 84])},
    ],
    "td3": [
        {"env_id": "HalfCheetah-v5", "steps": 5_000, "sb3_algo": "TD3",
         "ours": dict(learning_starts=1000, batch_size=256, policy_lr=3e-4, q_lr=3e-4, policy_frequency=2),
         "sb3": dict(learning_starts=1000, batch_size=256, learning_rate=3e-4, policy_delay=2, train_freq=1,
                     gradient_steps=1, tau=0.005, gamma=0.99, target_policy_noise=0.2, target_noise_clip=0.5,
                     action_noise_std=0.1, net_arch=[256, 256])},
    ],
    "sac": [
        {"env_id": "HalfCheetah-v5", "steps": 5_000, "sb3_algo": "SAC",
         "ours": dict(learning_starts=1000, batch_size=256, policy_lr=3e-4, q_lr=3e-4, policy_frequency=1),
         "sb3": dict(learning_starts=1000, batch_size=256, learning_rate=3e-4, train_freq=1, gradient_steps=1,
                     tau=0.005, gamma=0.99, ent_coef="auto", net_arch=[256, 256])},
    ],
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
    args = algo.Args(env_id=spec["env_id"], total_timesteps=spec["steps"], eval_episodes=0, seed=1,
                     torch_threads=spec["threads"], **kw)
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


def measure(impl: str, algo: str, case: dict, threads) -> dict:
    spec = {
        "impl": impl,
        "env_id": case["env_id"],
        "steps": case["steps"],
        "threads": threads,
        "sb3_algo": case["sb3_algo"],
        "kw": {k: list(v) if isinstance(v, tuple) else v for k, v in case[impl].items()},
        "path": os.path.join(ROOT, "algos", f"{algo}.py"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=os.environ.get("TMPDIR", "/tmp"),
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: {impl} {algo} {case['env_id']} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the markdown table here")
    parser.add_argument("--thread-sweep", action="store_true", help="also measure our scripts with 2 torch threads")
    args = parser.parse_args()
    import stable_baselines3
    import torch

    sweep = " --thread-sweep" if args.thread_sweep else ""
    rows = [
        f"Measured with `python benchmark/speed.py --algos {' '.join(args.algos)} --repeats {args.repeats}{sweep}` "
        f"(torch {torch.__version__}, stable-baselines3 {stable_baselines3.__version__}, {os.cpu_count()} CPUs).\n",
        "| algo | env | steps | ours SPS (1 thread, the default) | ours SPS (2 threads) | SB3 SPS (default threads) | "
        "SB3 SPS (1 thread) | ratio ours (1 thread) / best SB3 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for algo in args.algos:
        for case in CASES[algo]:
            configs = [("ours", "ours", 1), ("ours_2", "ours", 2), ("sb3", "sb3", None), ("sb3_1", "sb3", 1)]
            configs = [c for c in configs if c[0] != "ours_2" or args.thread_sweep]
            sps = {label: [] for label, _, _ in configs}
            # Interleaved (ours, SB3, ours, SB3, ...) so that drift in the machine's speed over the
            # minutes of a measurement hits both sides alike.
            for _ in range(args.repeats):
                for label, impl, threads in configs:
                    sps[label].append(measure(impl, algo, case, threads)["sps"])
            result = {label: statistics.median(values) for label, values in sps.items()}
            result.setdefault("ours_2", float("nan"))
            for label, values in sps.items():
                print(f"{algo} {case['env_id']} {label}: {', '.join(f'{s:.0f}' for s in values)} SPS", flush=True)
            ratio = result["ours"] / max(result["sb3"], result["sb3_1"])
            rows.append(
                f"| {algo} | {case['env_id']} | {case['steps']} | {result['ours']:.0f} | {result['ours_2']:.0f} | "
                f"{result['sb3']:.0f} | {result['sb3_1']:.0f} | {ratio:.2f}x |"
            )
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

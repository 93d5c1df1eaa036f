"""What a checkpoint costs on a default MuJoCo run: seconds per save, size, and share of wall time.

    python benchmark/checkpoint_cost.py                      # td3, sac, ddpg and ppo_clip on HalfCheetah-v5
    python benchmark/checkpoint_cost.py --algos sac --steps 30000

For each file: train with its defaults (only --total-timesteps shortened) and time every checkpoint it
writes; then write the same checkpoint with the replay buffer full (its default 1M transitions, filled with
random numbers of the env's shapes) through the file's own save_checkpoint, and time that. The share of wall
time is the full-buffer save time over the time the run takes for --checkpoint-every steps, at the
steps per second measured after the warm-up.
"""

import argparse
import dataclasses
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "algos", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(name: str, env_id: str, steps: int) -> dict:
    module, saves = load(name), []
    save = module.save_checkpoint

    def timed_save(args, run_name, wandb_id, modules, loop, envs, generators):
        path, start = f"runs/{run_name}/{args.exp_name}.pt", time.perf_counter()
        save(args, run_name, wandb_id, modules, loop, envs, generators)
        saves.append((loop["global_step"], time.perf_counter() - start, os.path.getsize(path), time.time()))
        if "rb" in modules and not full:  # once: the same state with the buffer full
            rb = modules["rb"]
            actions = rb.data["actions"]
            big = module.ReplayBuffer(args.buffer_size, rb.data["obs"].shape[1], actions.shape[1:], actions.dtype, 0)
            for v in big.data.values():
                v[:] = np.random.default_rng(0).random(v.shape)
            big.pos, big.size = 0, args.buffer_size
            start = time.perf_counter()
            save(
                dataclasses.replace(args, exp_name="full"),
                run_name,
                wandb_id,
                dict(modules, rb=big),
                loop,
                envs,
                generators,
            )
            full.append((time.perf_counter() - start, os.path.getsize(f"runs/{run_name}/full.pt")))
            os.remove(f"runs/{run_name}/full.pt")

    full = []
    module.save_checkpoint = timed_save
    torch.set_num_threads(module.Args().torch_threads or torch.get_num_threads())
    start = time.time()
    out = module.main(module.Args(env_id=env_id, total_timesteps=steps, checkpoint_every=5_000, eval_episodes=0))
    learning_starts = getattr(out["args"], "learning_starts", 0)
    # Steps per second once learning runs: between the first and the last save after the warm-up.
    late = [s for s in saves if s[0] > learning_starts]
    sps = (late[-1][0] - late[0][0]) / (late[-1][3] - late[0][3]) if len(late) > 1 else steps / (time.time() - start)
    every = module.Args().checkpoint_every
    save_s, size = full[0] if full else (saves[-1][1], saves[-1][2])
    return dict(
        algo=name,
        sps=sps,
        every=every,
        minutes_between=every / sps / 60,
        save_s=save_s,
        size_mb=size / 1e6,
        share=save_s / (every / sps),
        saves=[(s[0], round(s[1], 3), round(s[2] / 1e6, 1)) for s in saves],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["td3", "sac", "ddpg", "ppo_clip"])
    parser.add_argument("--env-id", default="HalfCheetah-v5")
    parser.add_argument("--steps", type=int, default=40_000, help="training steps per file (after the warm-up)")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp())
    print("| file | steps/s | --checkpoint-every | minutes between saves | save (s) | size (MB) | share of wall time |")
    print("|---|---|---|---|---|---|---|")
    for name in args.algos:
        r = measure(name, args.env_id, args.steps)
        print(
            f"| {r['algo']} | {r['sps']:.0f} | {r['every']:,} | {r['minutes_between']:.1f} | {r['save_s']:.2f} "
            f"| {r['size_mb']:.1f} | {100 * r['share']:.2f}% |",
            flush=True,
        )
        print(f"<!-- {r['algo']} saves during the run (step, seconds, MB): {r['saves']} -->", file=sys.stderr)


if __name__ == "__main__":
    main()

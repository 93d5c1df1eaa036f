"""Check that a change to algos/ leaves every file's numbers as they were.

    python benchmark/same_numbers.py                 # the working tree against HEAD
    python benchmark/same_numbers.py --rev v1.2 --algos sac td3

Each file runs a short same-seed training from the command line (both action spaces for the on-policy
files), once as committed at --rev and once as in the working tree, one thread each, in a scratch folder.
The two checkpoints are compared to the bit: weights, optimisers, buffer, counters, the torch random stream
and the training returns, and so are the evaluation lines the runs print. A refactor passes when every run
is "same"; a change that is meant to alter learning should not.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ON = "--num-envs 2 --num-steps 256 --total-timesteps 2048"
OFF = "--total-timesteps 1500 --learning-starts 500"
RUNS = {  # file: one flag string per run, sized so that every run learns for a few updates
    "vpg": [f"--env-id CartPole-v1 {ON}", f"--env-id Pendulum-v1 {ON}"],
    "a2c": ["--env-id CartPole-v1 --total-timesteps 2000", "--env-id Pendulum-v1 --total-timesteps 2000"],
    "trpo": [f"--env-id CartPole-v1 {ON}", f"--env-id Pendulum-v1 {ON}"],
    "ppo_clip": [f"--env-id CartPole-v1 {ON}", f"--env-id Pendulum-v1 {ON}"],
    "dqn": [f"--env-id CartPole-v1 {OFF}"],
    "ddpg": [f"--env-id Pendulum-v1 {OFF}"],
    "td3": [f"--env-id Pendulum-v1 {OFF}"],
    "sac": [f"--env-id Pendulum-v1 {OFF}"],
}


def run(script: str, flags: str, folder: str) -> tuple[dict, list]:
    """The checkpoint (without what differs by design: run name, pickled envs) and the evaluation lines."""
    cmd = [sys.executable, script, *flags.split(), "--seed", "1", "--eval-episodes", "2", "--torch-threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed: {(out.stderr.strip().splitlines() or [''])[-1]}")
    (path,) = glob.glob(os.path.join(folder, "runs", "*", "*.pt"))
    state = torch.load(path, weights_only=True)
    for k in ("run_name", "pickled", "args"):
        state.pop(k)
    return state, [line for line in out.stdout.splitlines() if line.startswith("eval ")]


def differences(a, b, path: str = "") -> list:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b), key=str)
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return [] if a.shape == b.shape and torch.equal(a, b) else [path]
    return [] if type(a) is type(b) and a == b else [path]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD", help="the git revision to compare the working tree against")
    parser.add_argument("--algos", nargs="+", default=list(RUNS), choices=list(RUNS))
    args = parser.parse_args()
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.algos:
            committed = os.path.join(tmp, "committed", f"{name}.py")  # same name: it is in the checkpoint
            os.makedirs(os.path.dirname(committed), exist_ok=True)
            show = subprocess.run(["git", "show", f"{args.rev}:algos/{name}.py"], cwd=ROOT, capture_output=True)
            if show.returncode != 0:
                raise SystemExit(f"error: no algos/{name}.py at {args.rev}: {show.stderr.decode().strip()}")
            open(committed, "wb").write(show.stdout)
            for i, flags in enumerate(RUNS[name]):
                before, after = (os.path.join(tmp, f"{name}{i}{side}") for side in "ab")
                for folder in (before, after):
                    os.makedirs(folder)
                found = differences(
                    run(committed, flags, before), run(os.path.join(ROOT, "algos", f"{name}.py"), flags, after)
                )
                print(f"{name} {flags}: {'same' if not found else 'DIFFERENT at ' + ', '.join(found[:5])}", flush=True)
                changed += [name] if found else []
    print(f"{len(changed)} run(s) differ from {args.rev}" if changed else f"every run is the same as at {args.rev}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run benchmark commands for several seeds in parallel, keep every log, fail if any run fails.

    python benchmark/launch.py --workers 2 --seeds 1 2 3 \
        --command "python algos/ppo_clip.py --env-id CartPole-v1 --total-timesteps 500000"

Each (command, seed) pair is one job: the command gets `--seed N` appended and its stdout and stderr
go to `{log_dir}/{script}__{env_id}__{seed}.log`; `{name}.json` beside it records the command, the exit
status and the wall time of the whole process (what a user waits for). At most `--workers` jobs run at once (use at most
the number of CPU cores: each run uses one torch thread).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time


def job_name(command: str, seed: int) -> str:
    words = shlex.split(command)
    script = next((os.path.basename(w)[:-3] for w in words if w.endswith(".py")), "run")
    env_id = words[words.index("--env-id") + 1] if "--env-id" in words else "default"
    return f"{script}__{env_id}__{seed}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", action="append", required=True, help="command to run (repeatable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-dir", default="benchmark/logs")
    args = parser.parse_args()
    if args.workers <= 0:
        parser.error("--workers must be positive")
    os.makedirs(args.log_dir, exist_ok=True)
    queue = [(command, seed) for command in args.command for seed in args.seeds]
    running, failed = [], []
    while queue or running:
        while queue and len(running) < args.workers:
            command, seed = queue.pop(0)
            name = job_name(command, seed)
            log = open(os.path.join(args.log_dir, f"{name}.log"), "w")
            proc = subprocess.Popen(shlex.split(command) + ["--seed", str(seed)], stdout=log, stderr=subprocess.STDOUT)
            running.append((proc, name, log, time.time(), f"{command} --seed {seed}"))
            print(f"started {name}: {command} --seed {seed}", flush=True)
        for job in list(running):
            proc, name, log, started, full_command = job
            if proc.poll() is not None:
                log.close()
                record = {"command": full_command, "returncode": proc.returncode, "wall_seconds": time.time() - started}
                with open(os.path.join(args.log_dir, f"{name}.json"), "w") as f:
                    json.dump(record, f)
                running.remove(job)
                status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
                print(f"finished {name} in {time.time() - started:.0f} s: {status}", flush=True)
                if proc.returncode != 0:
                    failed.append(name)
        time.sleep(1.0)
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)}; see {args.log_dir}/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run benchmark commands for several seeds as Ray tasks, on this machine or on a Ray cluster.

    python benchmark/launch.py --seeds 1 2 3 \\
        --command "python algos/ppo_clip.py --env-id CartPole-v1" --command "python algos/dqn.py --env-id CartPole-v1"

Each (command, seed) pair is one job: a Ray task that reserves `--cpus-per-run` CPUs, runs the command with
`--seed N` (and `--torch-threads` set to its CPUs, unless the command sets it or `--script-threads` leaves
each script its default) in a scratch folder of whichever node takes it, then sends back its output and every
file the run wrote. Back on this machine they land where a local run would put them: `runs/`, `videos/` and
`wandb/` under the current folder, the output in `{log_dir}/{script}__{env_id}__{seed}.log`, and `{name}.json`
beside it with the command, the exit status, the start time (Unix seconds) and wall time of the run and the
node that ran it.
`benchmark/report.py` reads them as is.

- This machine (default): a local Ray instance with `--workers` CPUs (default: all cores), started and
  stopped by the launcher.
- A cluster: `ray start --head` on one machine, `ray start --address=<head>:6379` on each other one (each
  with this project and its Python environment installed), then `--address <head>:6379` here (or set
  RAY_ADDRESS). Ray 2.60's `ray start --head` turns on token authentication: copy the head's
  ~/.ray/auth_token to the other machines and set RAY_AUTH_MODE=token for `ray start` and for this script.
  The code is shipped to the nodes with the tasks; a job whose node is lost runs again on another node.
- Tracked: `--track` adds `--track` to every run and groups the sweep in Weights & Biases through wandb's
  own environment variables: WANDB_RUN_GROUP (one group per sweep) and WANDB_TAGS (the git commit, with
  "-dirty" when the tree has uncommitted changes). WANDB_MODE=offline works: the runs come back under
  `wandb/`, for `wandb sync` later.

A failed job prints the last lines of its output and the others go on; the launcher exits non-zero and
names every failed job. Ctrl-C cancels every job and stops their training processes.
"""

import argparse
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid

import ray
from ray.util.queue import Queue
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the nodes need is the code; the rest stays here.
NOT_SHIPPED = [".git", ".venv", "runs", "videos", "wandb", "benchmark/logs", "benchmark/results", ".ruff_cache"]
# Environment variables a run takes from the launcher's environment rather than the node's.
PASSED_ENV = re.compile(r"^(WANDB_(?!DIR$)\w+|MUJOCO_GL|SDL_VIDEODRIVER|OMP_NUM_THREADS)$")
EVAL_LINE = re.compile(r"^eval[^:]*: (-?[\d.]+) \+- ([\d.]+) over (\d+) episodes$", re.M)


def job_name(command: str, seed: int) -> str:
    words = shlex.split(command)
    script = next((os.path.basename(w)[:-3] for w in words if w.endswith(".py")), "run")
    env_id = words[words.index("--env-id") + 1] if "--env-id" in words else "default"
    return f"{script}__{env_id.replace(':', '.').replace('/', '.')}__{seed}"


def git_tag() -> str:
    """The commit of the code being shipped, marked dirty when the tree has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        return "no-git"
    if commit.returncode != 0:
        return "no-git"
    return commit.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def death_signal():
    """Linux: a function that makes the calling process die with its parent, the Ray worker (a lost node, a
    cancelled job). libc is loaded here, before the fork: the child of a threaded worker should only call it."""
    import ctypes

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return None
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_job(name: str, words: list, threads: int | None, env: dict, events: Queue) -> dict:
    """A Ray task: run one training command in a scratch folder, return its output and the files it wrote."""
    code_dir = os.getcwd()  # Ray's copy of the shipped code
    words = [sys.executable if i == 0 and w in ("python", "python3") else w for i, w in enumerate(words)]
    words = [os.path.join(code_dir, w) if os.path.isfile(os.path.join(code_dir, w)) else w for w in words]
    if threads is not None and "--torch-threads" not in words:
        words += ["--torch-threads", str(threads)]
    node = ray.get_runtime_context().get_node_id()
    # Fire and forget: a task blocked in ray.get lends its CPU to the next task, which would oversubscribe.
    events.actor.put_nowait.remote((name, node))
    with tempfile.TemporaryDirectory(prefix="sfrl-run-") as scratch:
        log_path = os.path.join(scratch, "output.log")
        child_env = {**os.environ, **env}
        if threads is None and "OMP_NUM_THREADS" not in env:
            child_env.pop("OMP_NUM_THREADS", None)  # Ray's, set to the task's CPUs: leave torch its own default
        started = time.time()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                words, cwd=scratch, stdout=log, stderr=subprocess.STDOUT, env=child_env,
                start_new_session=True, preexec_fn=death_signal(),
            )  # fmt: skip
            try:
                returncode = proc.wait()
            except BaseException:  # cancelled: take the training process down with the task
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        wall = time.time() - started
        with open(log_path) as f:
            output = f.read()
        os.remove(log_path)
        files = io.BytesIO()
        with tarfile.open(fileobj=files, mode="w:gz", dereference=True) as tar:  # wandb links to scratch files
            for entry in os.listdir(scratch):
                tar.add(os.path.join(scratch, entry), arcname=entry)
    result = {"output": output, "returncode": returncode, "wall_seconds": wall, "node": node, "started": started}
    return {**result, "files": files.getvalue()}


def interrupt(signum, frame):
    raise KeyboardInterrupt  # Ctrl-C, or SIGTERM, even when started in the background with SIGINT ignored


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", action="append", required=True, help="command to run (repeatable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--log-dir", default="benchmark/logs")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="a running Ray cluster (host:port)")
    parser.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    parser.add_argument("--cpus-per-run", type=int, default=1, help="CPUs (and torch threads) each run reserves")
    parser.add_argument(
        "--script-threads",
        action="store_true",
        help="leave --torch-threads at each script's default (a user's single run)",
    )
    parser.add_argument("--track", action="store_true", help="track every run in Weights & Biases, as one group")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers <= 0:
        parser.error("--workers must be positive")
    if args.cpus_per_run <= 0:
        parser.error("--cpus-per-run must be positive")
    os.makedirs(args.log_dir, exist_ok=True)

    env = {k: v for k, v in os.environ.items() if PASSED_ENV.match(k)}
    if args.track:
        env["WANDB_RUN_GROUP"] = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        env["WANDB_TAGS"] = git_tag()
        print(f"tracking: group {env['WANDB_RUN_GROUP']}, tags {env['WANDB_TAGS']}", flush=True)
    runtime_env = {"working_dir": ROOT, "excludes": NOT_SHIPPED}
    if args.address:
        ray.init(address=args.address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
    else:
        ray.init(
            address="local", num_cpus=args.workers, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR"
        )
    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    events = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})  # start reports, kept on this node
    threads = None if args.script_threads else args.cpus_per_run
    task = ray.remote(run_job).options(num_cpus=args.cpus_per_run, max_retries=3)

    jobs = {}
    for command in args.command:
        words = shlex.split(command)
        if args.track and "--track" not in words:
            words.append("--track")
        for seed in args.seeds:
            name = job_name(command, seed)
            ref = task.remote(name, words + ["--seed", str(seed)], threads, env, events)
            jobs[ref] = (name, f"{command} --seed {seed}")
    print(f"{len(jobs)} jobs on {int(ray.cluster_resources().get('CPU', 0))} CPUs", flush=True)

    failed = []
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while jobs:
            done, _ = ray.wait(list(jobs), num_returns=1, timeout=1.0)
            while not events.empty():
                name, node = events.get()
                print(f"started {name} on node {node[:8]}", flush=True)
            for ref in done:
                name, command = jobs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as e:  # the task itself failed, after its retries
                    print(f"FAILED {name}: {type(e).__name__}: {str(e).splitlines()[0]}", flush=True)
                    failed.append(name)
                    continue
                with tarfile.open(fileobj=io.BytesIO(result["files"])) as tar:
                    if hasattr(tarfile, "data_filter"):  # Python 3.10.12 and later: no paths outside "."
                        tar.extractall(".", filter="data")
                    else:
                        tar.extractall(".")
                with open(os.path.join(args.log_dir, f"{name}.log"), "w") as f:
                    f.write(result["output"])
                record = {k: result[k] for k in ("returncode", "wall_seconds", "node", "started")}
                with open(os.path.join(args.log_dir, f"{name}.json"), "w") as f:
                    json.dump({"command": command, **record}, f)
                where = f"on node {result['node'][:8]} in {result['wall_seconds']:.0f} s"
                if result["returncode"] == 0:
                    evals = EVAL_LINE.findall(result["output"])
                    score = f"eval {evals[-1][0]} +- {evals[-1][1]}" if evals else "no evaluation"
                    print(f"finished {name} {where}: {score}", flush=True)
                else:
                    tail = "\n".join("    " + line for line in result["output"].splitlines()[-5:])
                    print(f"FAILED {name} {where} (exit {result['returncode']}):\n{tail}", flush=True)
                    failed.append(name)
    except KeyboardInterrupt:
        print(f"interrupted: cancelling {len(jobs)} jobs", file=sys.stderr, flush=True)
        for force in (False, True):  # politely first: the task kills its training process group
            for ref in jobs:
                ray.cancel(ref, force=force)
            ray.wait(list(jobs), num_returns=len(jobs), timeout=3.0)
        ray.shutdown()
        return 130
    ray.shutdown()
    if failed:
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}; see {args.log_dir}/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

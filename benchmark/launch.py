"""Run benchmark commands for several seeds as Ray tasks, on this machine or on a Ray cluster, so that
nothing is lost when a node goes away or the launcher stops.

    python benchmark/launch.py --seeds 1 2 3 \\
        --command "python algos/ppo_clip.py --env-id CartPole-v1" --command "python algos/dqn.py --env-id CartPole-v1"

Each (command, seed) pair is one job: a Ray task that reserves `--cpus-per-run` CPUs, runs the command with
`--seed N` (and `--torch-threads` set to its CPUs, unless the command sets it or `--script-threads` leaves
each script its default) in a scratch folder of whichever node takes it. Files land where a local run would
put them, under the current folder: `runs/`, `videos/` and `wandb/`, the output in
`{log_dir}/{script}__{env_id}__{seed}.log`, and `{name}.json` beside it once the job has ended, with the
command, the exit status, the start time (Unix seconds) and wall time of its last attempt, the node that ran
it and the step it resumed from (`{name}.resume` keeps, meanwhile, where its latest checkpoint is).
`benchmark/report.py` reads them as is.

The launcher's folder is the record of the sweep; nodes are disposable:
- Every checkpoint a run writes (`--checkpoint-every`) travels to the launcher as soon as it is on the node's
  disk, with the run's TensorBoard events, W&B files and output so far; only the latest is kept.
- A job whose node is lost runs again on another node from the last checkpoint that reached the launcher
  (`--resume`, same run folder, same W&B run), up to `--retries` times.
- Ctrl-C or SIGTERM: every running job is asked to stop (its run finishes the step, writes its checkpoint),
  what they wrote is collected, and the launcher exits 130 or 143.
- The same command again finishes the sweep: jobs that ended with exit status 0 are reported as done and not
  run, the others resume from their last checkpoint (or start, if none arrived). `--restart` runs every job
  from scratch. A job is its command and seed.

- This machine (default): a local Ray instance with `--workers` CPUs (default: all cores), started and
  stopped by the launcher.
- A cluster: `ray start --head` on one machine, `ray start --address=<head>:6379` on each other one (each
  with this project and its Python environment installed), then `--address <head>:6379` here (or set
  RAY_ADDRESS). Ray 2.60's `ray start --head` turns on token authentication: copy the head's
  ~/.ray/auth_token to the other machines and set RAY_AUTH_MODE=token for `ray start` and for this script.
  The code is shipped to the nodes with the tasks; no shared file system is needed.
- Tracked: `--track` adds `--track` to every run and groups the sweep in Weights & Biases through wandb's
  own environment variables: WANDB_RUN_GROUP (one group per sweep, kept in `{log_dir}/sweep.json` so a
  finished re-run stays in it) and WANDB_TAGS (the git commit, with "-dirty" when the tree has uncommitted
  changes). WANDB_MODE=offline works: the runs come back under `wandb/`, for `wandb sync` later.

A failed job prints the last lines of its output and the others go on; the launcher exits non-zero and
names every failed job.
"""

import argparse
import asyncio
import glob
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


def pack(folder: str, entries=None, skip=()) -> bytes:
    """`entries` of `folder` (default: all but `skip`) as a tar.gz, without checkpoints being written (*.tmp).
    The run goes on meanwhile: a file renamed or removed between listing and reading is left out."""
    files = io.BytesIO()
    with tarfile.open(fileobj=files, mode="w:gz", dereference=True) as tar:  # wandb links to scratch files
        for entry in entries or sorted(set(os.listdir(folder)) - set(skip)):
            top = os.path.join(folder, entry)
            paths = [top] if os.path.isfile(top) else [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs]
            for path in sorted(p for p in paths if not p.endswith(".tmp")):
                try:
                    tar.add(path, arcname=os.path.relpath(path, folder))
                except FileNotFoundError:
                    continue
    return files.getvalue()


def unpack(blob: bytes, folder: str) -> list:
    """Extract a pack() into `folder`, each file written beside its place and renamed into it, so a stop
    mid-way never leaves a half-written checkpoint. Returns the paths written, relative to `folder`."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar:
            path = os.path.abspath(os.path.join(folder, member.name))
            if not member.isfile() or not path.startswith(os.path.abspath(folder) + os.sep):
                continue  # directories come with their files; nothing lands outside `folder`
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with tar.extractfile(member) as src, open(f"{path}.part", "wb") as dst:
                dst.write(src.read())
            os.replace(f"{path}.part", path)
            written.append(os.path.relpath(path, folder))
    return written


@ray.remote(num_cpus=0)
class Gate:
    """Opened once, when the launcher stops. A task polls its pending `wait()` without blocking: a stop that
    ray.cancel would deliver as KeyboardInterrupt can be lost in a busy worker (seen under load)."""

    def __init__(self):
        self.opened = asyncio.Event()

    async def wait(self):
        await self.opened.wait()

    async def open(self):
        self.opened.set()


def run_job(name: str, attempt: int, words: list, threads, env: dict, events: Queue, snapshot, stop=()) -> dict:
    """A Ray task: run one training command in a scratch folder (first unpacking `snapshot`, the job's last
    checkpoint, and adding --resume), send each checkpoint it writes to the launcher with the run's files and
    output so far, and return the rest. Stopped (`stop`, a Gate's wait(), is ready) or cancelled, it stops the
    run cleanly first."""
    code_dir = os.getcwd()  # Ray's copy of the shipped code
    # A future, not ray.wait: a task calling ray.wait counts as blocked and lends its CPU to a waiting task.
    stopping = stop[0].future() if stop else None
    words = [sys.executable if i == 0 and w in ("python", "python3") else w for i, w in enumerate(words)]
    words = [os.path.join(code_dir, w) if os.path.isfile(os.path.join(code_dir, w)) else w for w in words]
    if threads is not None and "--torch-threads" not in words:
        words += ["--torch-threads", str(threads)]
    node = ray.get_runtime_context().get_node_id()
    # Fire and forget: a task blocked in ray.get lends its CPU to the next task, which would oversubscribe.
    events.actor.put_nowait.remote(("started", name, attempt, node))
    with tempfile.TemporaryDirectory(prefix="sfrl-run-") as scratch:
        log_path = os.path.join(scratch, "output.log")
        if snapshot is not None:
            checkpoint = next(p for p in unpack(snapshot, scratch) if p.startswith("runs") and p.endswith(".pt"))
            words += ["--resume", os.path.dirname(checkpoint)]
        child_env = {**os.environ, **env}
        if threads is None and "OMP_NUM_THREADS" not in env:
            child_env.pop("OMP_NUM_THREADS", None)  # Ray's, set to the task's CPUs: leave torch its own default

        def send(kind: str):
            with open(log_path) as f:
                output = f.read()
            events.actor.put_nowait.remote((kind, name, attempt, pack(scratch, skip=["output.log", "videos"]), output))

        started, seen = time.time(), {}
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                words, cwd=scratch, stdout=log, stderr=subprocess.STDOUT, env=child_env,
                start_new_session=True, preexec_fn=death_signal(),
            )  # fmt: skip
            try:
                while proc.poll() is None:
                    time.sleep(0.2)
                    if stopping is not None and stopping.done():
                        raise KeyboardInterrupt
                    stamps = {p: os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(scratch, "runs", "*", "*.pt"))}
                    if stamps and stamps != seen:  # a new checkpoint, renamed into place whole
                        seen = stamps
                        send("checkpoint")
            except BaseException:  # stopped: the run finishes its step, writes its checkpoint and exits
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                send("stopped")
                raise
        wall = time.time() - started
        with open(log_path) as f:
            output = f.read()
        files = pack(scratch, skip=["output.log"])
    result = {"output": output, "returncode": proc.returncode, "wall_seconds": wall, "node": node, "started": started}
    return {**result, "files": files}


def connect(address: str | None, workers: int | None) -> Queue:
    """Join the Ray cluster at `address`, or start a local instance with `workers` CPUs, shipping the project's
    code with the tasks; return the queue, kept on this node, through which tasks report."""
    common = dict(runtime_env={"working_dir": ROOT, "excludes": NOT_SHIPPED}, log_to_driver=False)
    if address:
        ray.init(address=address, logging_level="ERROR", **common)
    else:
        ray.init(address="local", num_cpus=workers, logging_level="ERROR", **common)
    # The driver prints every cluster error it hears of in full (a lost node: the last 20 lines of its raylet's
    # log). Worker output is not forwarded (log_to_driver=False), so this printer only carries those; the
    # launcher names each job a lost node cost in one line instead.
    if hasattr(ray._private.worker, "print_to_stdstream"):
        ray._private.worker.print_to_stdstream = lambda data, ignore_prefix: None
    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    return Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})


def interrupt(signum, frame):
    interrupt.signum = signum
    raise KeyboardInterrupt  # Ctrl-C, or SIGTERM, even when started in the background with SIGINT ignored


def read_json(path: str):
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    return None


def write_json(path: str, record: dict):
    with open(f"{path}.part", "w") as f:
        json.dump(record, f)
    os.replace(f"{path}.part", path)


def step_of(checkpoint: str) -> int:
    import torch  # memory-mapped: reads the loop's counters, not a replay buffer

    return torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["loop"]["global_step"]


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
    parser.add_argument("--retries", type=int, default=3, help="times a job whose node is lost runs again")
    parser.add_argument("--restart", action="store_true", help="run every job from scratch, the finished ones too")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers <= 0:
        parser.error("--workers must be positive")
    if args.cpus_per_run <= 0:
        parser.error("--cpus-per-run must be positive")
    if args.retries < 0:
        parser.error("--retries must be non-negative")
    os.makedirs(args.log_dir, exist_ok=True)

    env = {k: v for k, v in os.environ.items() if PASSED_ENV.match(k)}
    group = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    if args.track:
        env["WANDB_TAGS"] = git_tag()
    jobs = {}  # name: the job's command, its last checkpoint here, its W&B group, its attempts
    for command in args.command:
        words = shlex.split(command)
        if args.track and "--track" not in words:
            words.append("--track")
        for seed in args.seeds:
            name, full = job_name(command, seed), f"{command} --seed {seed}"
            path = os.path.join(args.log_dir, name)
            record, progress = (
                (None, None) if args.restart else (read_json(f"{path}.json"), read_json(f"{path}.resume"))
            )
            if record and record["command"] == full and record["returncode"] == 0:
                print(f"done {name}: finished earlier (--restart runs it again)", flush=True)
                continue
            progress = progress if progress and progress["command"] == full else {}
            checkpoint = progress.get("checkpoint")
            jobs[name] = {
                "command": full, "words": words + ["--seed", str(seed)], "attempt": 0, "node": None,
                "checkpoint": checkpoint if checkpoint and os.path.isfile(checkpoint) else None,
                "group": progress.get("group", group), "log": f"{path}.log", "stopped": False, "ended": False,
            }  # fmt: skip
    if not jobs:
        return 0
    if args.track:
        print(f"tracking: group {group}, tags {env['WANDB_TAGS']}", flush=True)
    events = connect(args.address, args.workers)
    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    gate = Gate.options(scheduling_strategy=here).remote()  # on this node, which outlives every other
    stop_wait = [gate.wait.remote()]  # in a list: Ray would wait for a top-level argument before starting a task
    threads = None if args.script_threads else args.cpus_per_run
    # Ray would retry a lost task from its first line; the launcher retries it from its last checkpoint.
    task = ray.remote(run_job).options(num_cpus=args.cpus_per_run, max_retries=0)
    running = {}  # Ray reference: job name

    def submit(name: str):
        job = jobs[name]
        job.update(attempt=job["attempt"] + 1, node=None)
        snapshot, job["resumed_from"], job["earlier_output"] = None, None, ""
        if job["checkpoint"]:  # the output of earlier attempts, which this one continues
            snapshot, job["resumed_from"] = ray.put(pack(".", [job["checkpoint"]])), step_of(job["checkpoint"])
            with open(job["log"], "a+") as f:  # a+: the log may have been removed meanwhile
                f.seek(0)
                job["earlier_output"] = f.read()
        write_json(
            os.path.join(args.log_dir, f"{name}.resume"), {k: job[k] for k in ("command", "checkpoint", "group")}
        )
        job_env = dict(env, WANDB_RUN_GROUP=job["group"]) if args.track else env
        task_args = (name, job["attempt"], job["words"], threads, job_env, events, snapshot, stop_wait)
        running[task.remote(*task_args)] = name

    def record(name: str, kind: str, files: bytes, output: str):
        job = jobs[name]
        written = unpack(files, ".")
        checkpoints = [p for p in written if p.startswith("runs" + os.sep) and p.endswith(".pt")]
        if checkpoints:
            job["checkpoint"] = checkpoints[0]
            write_json(
                os.path.join(args.log_dir, f"{name}.resume"),
                {k: job[k] for k in ("command", "checkpoint", "group")},
            )
        with open(f"{job['log']}.part", "w") as f:
            f.write(job["earlier_output"] + output)
        os.replace(f"{job['log']}.part", job["log"])
        job["stopped"] = job["stopped"] or kind == "stopped"

    def drain():
        while not events.empty():
            kind, name, attempt, *report = events.get()
            if attempt != jobs[name]["attempt"]:
                continue  # from an attempt on a node that was lost
            if kind == "started":
                jobs[name]["node"] = report[0]
                step = jobs[name]["resumed_from"]
                resumed = f"resumed {name} on node {report[0][:8]} from step {step}"
                print(resumed if step is not None else f"started {name} on node {report[0][:8]}", flush=True)
            else:
                record(name, kind, *report)

    def finish(name: str, result: dict):
        record(name, "finished", result["files"], result["output"])
        jobs[name]["ended"] = True
        keys = ("returncode", "wall_seconds", "node", "started")
        outcome = {"command": jobs[name]["command"], **{k: result[k] for k in keys}}
        write_json(os.path.join(args.log_dir, f"{name}.json"), dict(outcome, resumed_from=jobs[name]["resumed_from"]))
        where = f"on node {result['node'][:8]} in {result['wall_seconds']:.0f} s"
        if result["returncode"] == 0:
            evals = EVAL_LINE.findall(result["output"])
            score = f"eval {evals[-1][0]} +- {evals[-1][1]}" if evals else "no evaluation"
            print(f"finished {name} {where}: {score}", flush=True)
        else:
            tail = "\n".join("    " + line for line in result["output"].splitlines()[-5:])
            print(f"FAILED {name} {where} (exit {result['returncode']}):\n{tail}", flush=True)
            failed.append(name)

    def stop(sig) -> int:
        """Every running job stops cleanly (its run gets SIGTERM and saves its checkpoint) and sends what it wrote;
        jobs that end meanwhile are recorded; then exit as the signal asks. A second Ctrl-C stops at once."""
        drain()
        started = [name for name in running.values() if jobs[name]["node"]]
        print(f"{sig.name}: stopping {len(started)} running job(s), which save their checkpoints", file=sys.stderr)
        try:
            gate.open.remote()  # a running task stops its run: see run_job
            for ref, name in running.items():
                if name not in started:
                    ray.cancel(ref)  # a task still waiting for a CPU does not start
            deadline = time.time() + 600
            while running and time.time() < deadline:
                done, _ = ray.wait(list(running), num_returns=len(running), timeout=0.5)
                drain()
                for ref in done:
                    try:
                        finish(running[ref], ray.get(ref))
                    except ray.exceptions.RayError:  # stopped: its last files came through the queue
                        pass
                    running.pop(ref)
            while time.time() < deadline and not all(jobs[name]["stopped"] or jobs[name]["ended"] for name in started):
                time.sleep(0.2)  # a task sends its last files just before it ends: let them arrive
                drain()
        except KeyboardInterrupt:
            pass
        for ref in running:
            ray.cancel(ref, force=True)
        ray.shutdown()
        saved = [name for name in started if jobs[name]["stopped"]]
        print(
            f"{sig.name}: {len(saved)} job(s) saved their checkpoints; the same command resumes the sweep",
            file=sys.stderr,
        )
        return 128 + sig

    for name in jobs:
        submit(name)
    print(f"{len(jobs)} jobs on {int(ray.cluster_resources().get('CPU', 0))} CPUs", flush=True)

    failed = []
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while running:
            done, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            drain()
            for ref in done:
                name = running.pop(ref)
                job = jobs[name]
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as e:  # run_job itself raised
                    print(f"FAILED {name}: {type(e).__name__}: {str(e).splitlines()[0]}", flush=True)
                    failed.append(name)
                    continue
                except ray.exceptions.RayError as e:  # the node or the worker was lost
                    where = f"on node {job['node'][:8]} " if job["node"] else ""
                    if job["attempt"] > args.retries:
                        print(f"FAILED {name}: lost {where}{job['attempt']} times ({type(e).__name__})", flush=True)
                        failed.append(name)
                        continue
                    since = f"from step {step_of(job['checkpoint'])}" if job["checkpoint"] else "from the start"
                    print(f"lost {name} {where}({type(e).__name__}): running it again {since}", flush=True)
                    submit(name)
                    continue
                finish(name, result)
    except KeyboardInterrupt:
        return stop(signal.Signals(interrupt.signum))
    ray.shutdown()
    if failed:
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}; see {args.log_dir}/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

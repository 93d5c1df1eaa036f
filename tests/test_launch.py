"""benchmark/launch.py on a real two-node Ray cluster started on this machine: jobs spread over
both nodes, every file comes back, failures are named, a job on a lost node resumes, a stopped launcher
saves its jobs and its re-run finishes the sweep, --track groups and tags offline W&B runs. The module's
cluster is shut down by its fixture, also on failure; a removed node is replaced by a new one."""

import glob
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest
import torch
from conftest import RAY_DAEMONS, RAY_RUNS, leftover_processes

ray_cluster_utils = pytest.importorskip("ray.cluster_utils")
pytestmark = pytest.mark.xdist_group("ray")  # one worker runs them all: two clusters would share 2 cores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# LAUNCH_PY points the tests at a copy (tests/planted_bugs.py plants bugs in such copies).
LAUNCH = os.environ.get("LAUNCH_PY") or os.path.join(ROOT, "benchmark", "launch.py")
PPO = "python algos/ppo_clip.py --env-id CartPole-v1 --num-envs 2 --num-steps 256 --num-minibatches 4"
# Checkpoints every 1024 steps; long enough (12,288 steps) to lose its node mid-run.
LONG_PPO = f"{PPO} --total-timesteps 12288 --checkpoint-every 1024 --eval-episodes 1"
EVAL = re.compile(r"^eval .*$", re.M)
TD3 = "python algos/td3.py --env-id Pendulum-v1 --total-timesteps 300 --learning-starts 200 --hidden-sizes 16"


@pytest.fixture(scope="module")
def cluster():
    # Both nodes on this machine, at its own address: Ray maps 127.0.0.1 to the node's address when a
    # driver connects, so the traffic stays on this machine without being pinned to loopback.
    cluster = ray_cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray_dir = cluster.head_node.get_session_dir_path()
    cluster.shutdown()
    assert not leftover_processes(RAY_DAEMONS + ".*" + re.escape(ray_dir))  # no node left running


@pytest.fixture(autouse=True)
def no_run_left_behind():
    yield
    assert not leftover_processes(RAY_RUNS)  # every training process a job started has ended


def launch(address, cwd, *args, env=None):
    command = [sys.executable, LAUNCH, "--address", address, "--log-dir", "logs", *args]
    env = {k: v for k, v in (env or os.environ).items() if not k.startswith("RAY_")}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def records(log_dir):
    return [json.load(open(path)) for path in sorted(glob.glob(os.path.join(log_dir, "*.json")))]


def test_jobs_spread_over_both_nodes_and_every_file_comes_back(cluster, tmp_path):
    ppo = f"{PPO} --total-timesteps 2048 --eval-episodes 2"
    proc = launch(cluster.address, tmp_path, "--seeds", "1", "2", "--command", ppo, "--command", TD3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    done = records(tmp_path / "logs")
    assert len(done) == 4 and all(r["returncode"] == 0 for r in done)
    assert len({r["node"] for r in done}) == 2  # both nodes ran jobs
    spans = [(r["started"], r["started"] + r["wall_seconds"]) for r in done]
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) <= 2  # one run per CPU: no task lent its CPU
    for seed in (1, 2):
        (ppo_run,) = glob.glob(str(tmp_path / "runs" / f"CartPole-v1__ppo_clip__{seed}__*"))
        assert glob.glob(os.path.join(ppo_run, "events.out.tfevents.*")) and os.path.isfile(f"{ppo_run}/ppo_clip.pt")
        # one torch thread per reserved CPU (--cpus-per-run 1) unless --script-threads
        assert torch.load(f"{ppo_run}/ppo_clip.pt", weights_only=True)["args"]["torch_threads"] == 1
        (td3_run,) = glob.glob(str(tmp_path / "runs" / f"Pendulum-v1__td3__{seed}__*"))
        assert glob.glob(os.path.join(td3_run, "events.out.tfevents.*"))
        log = open(tmp_path / "logs" / f"ppo_clip__CartPole-v1__{seed}.log").read()
        assert "eval CartPole-v1:" in log
    assert proc.stdout.count("started ") == 4 and proc.stdout.count("finished ") == 4


def test_a_failing_command_fails_the_sweep_and_is_named(cluster, tmp_path):
    bad = "python algos/ppo_clip.py --env-id NoSuchEnv-v0"
    td3 = f"{TD3}"
    (tmp_path / "threads.py").write_text("import os\nprint('OMP_NUM_THREADS', os.environ.get('OMP_NUM_THREADS'))\n")
    probe = f"python {tmp_path / 'threads.py'} --env-id Probe-v0"
    commands = ["--command", bad, "--command", td3, "--command", probe]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # launch.py would pass the user's on
    proc = launch(cluster.address, tmp_path, "--seeds", "1", "--script-threads", *commands, env=env)
    assert proc.returncode == 1
    assert "1 job(s) failed: ppo_clip__NoSuchEnv-v0__1" in proc.stderr
    assert "error: cannot create NoSuchEnv-v0: NameNotFound" in proc.stdout  # the failed job's last lines
    assert {r["returncode"] for r in records(tmp_path / "logs")} == {0, 1}  # the other jobs finished
    # Ray sets OMP_NUM_THREADS to a task's CPUs (1 here); --script-threads leaves the count to torch
    assert "OMP_NUM_THREADS None" in open(tmp_path / "logs" / "threads__Probe-v0__1.log").read()
    (checkpoint,) = glob.glob(str(tmp_path / "runs" / "Pendulum-v1__td3__1__*" / "td3.pt"))
    assert torch.load(checkpoint, weights_only=True)["args"]["torch_threads"] is None  # td3.py's own default


def run_uninterrupted(command: str, seed: int, cwd) -> dict:
    """The job's command run straight, as the launcher would (one torch thread): its final checkpoint and output."""
    os.makedirs(cwd, exist_ok=True)
    _, script, *flags = command.split()
    words = [sys.executable, os.path.join(ROOT, script), *flags, "--seed", str(seed), "--torch-threads", "1"]
    proc = subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (path,) = re.findall(r"checkpoint saved to (\S+)", proc.stdout)
    return {"state": torch.load(os.path.join(cwd, path), weights_only=True), "eval": EVAL.findall(proc.stdout)}


def assert_same_as_uninterrupted(tmp_path, name: str, command: str, seed: int):
    """Final weights, training returns and evaluation of a launched job equal those of a straight run."""
    script = name.split("__")[0]
    (checkpoint,) = glob.glob(str(tmp_path / "runs" / f"*__{script}__{seed}__*" / f"{script}.pt"))
    state = torch.load(checkpoint, weights_only=True)
    reference = run_uninterrupted(command, seed, tmp_path / "reference")
    for key in ("agent", "actor"):
        for k, v in reference["state"].get(key, {}).items():
            assert torch.equal(state[key][k], v), (key, k)
    assert state["loop"]["train_returns"] == reference["state"]["loop"]["train_returns"]
    assert EVAL.findall(open(tmp_path / "logs" / f"{name}.log").read())[-1:] == reference["eval"][-1:]


def read_lines(proc) -> list:
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    return lines


def wait_until(condition, what: str, timeout=180):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, what
        time.sleep(0.2)


def test_a_job_on_a_lost_node_resumes_from_its_last_checkpoint(cluster, tmp_path, monkeypatch):
    """The worker node is removed once a checkpoint of its job has reached the launcher: the job runs again on
    the head from that checkpoint, and ends exactly as an uninterrupted run would. A new node replaces it."""
    monkeypatch.delenv("WANDB_DIR")  # the new node's runs would inherit it: their W&B files would land here
    (second,) = cluster.worker_nodes
    try:
        args = [sys.executable, LAUNCH, "--address", cluster.address, "--log-dir", "logs", "--seeds", "1", "2"]
        proc = subprocess.Popen(
            args + ["--command", LONG_PPO], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines = read_lines(proc)
        on_second = f"on node {second.node_id[:8]}"
        wait_until(lambda: any(on_second in line for line in lines), "no job started on the second node")
        (name,) = [line.split()[1] for line in lines if on_second in line]
        progress = tmp_path / "logs" / f"{name}.resume"
        wait_until(lambda: progress.exists() and json.load(open(progress))["checkpoint"], "no checkpoint arrived")
        cluster.remove_node(second, allow_graceful=False)
        assert proc.wait(timeout=300) == 0, "".join(lines)
    finally:
        if second in cluster.worker_nodes:
            cluster.remove_node(second, allow_graceful=False)
        cluster.add_node(num_cpus=1)  # the next tests run on two nodes again
        cluster.wait_for_nodes()
    output = "".join(lines)
    (step,) = re.findall(rf"lost {name} {on_second} \(\w+\): running it again from step (\d+)", output)
    assert int(step) > 0 and f"resumed {name} on node {cluster.head_node.node_id[:8]} from step {step}" in output
    assert f"resumed CartPole-v1__ppo_clip__{name[-1]}__" in open(tmp_path / "logs" / f"{name}.log").read()
    assert json.load(open(tmp_path / "logs" / f"{name}.json"))["resumed_from"] == int(step)
    assert len(output.splitlines()) <= 8, output  # no log flood from Ray
    assert_same_as_uninterrupted(tmp_path, name, LONG_PPO, int(name[-1]))
    assert not second.live_processes()  # the lost node's daemons are gone


def held_ppo(tmp_path, hold) -> str:
    """A ppo_clip.py command on a CartPole whose steps each wait 5 ms while the file `hold` exists: the job
    outlasts the others for as long as the test holds it, however fast the machine; its results do not change."""
    folder = tmp_path / "held"
    folder.mkdir()
    (folder / "held_env.py").write_text(
        "import os, time\nimport gymnasium as gym\n"
        "from gymnasium.envs.classic_control.cartpole import CartPoleEnv\n\n\n"
        "class HeldCartPole(CartPoleEnv):\n    def step(self, action):\n"
        f"        if os.path.exists({str(hold)!r}):\n            time.sleep(0.005)\n"
        "        return super().step(action)\n\n\n"
        'gym.register("HeldCartPole-v1", entry_point=HeldCartPole, max_episode_steps=500)\n'
    )
    real = os.path.join(ROOT, "algos", "ppo_clip.py")
    (folder / "ppo_clip.py").write_text(
        f"import runpy\nimport held_env  # noqa: F401\n\nrunpy.run_path({real!r}, run_name='__main__')\n"
    )
    return LONG_PPO.replace("algos/ppo_clip.py", str(folder / "ppo_clip.py")).replace("CartPole-v1", "HeldCartPole-v1")


def test_a_stopped_launcher_collects_its_jobs_and_the_same_command_finishes_the_sweep(cluster, tmp_path):
    """SIGTERM with one job finished and one running: exit 143, the running job's checkpoint collected. The same
    command skips the finished job and resumes the other, which ends as an uninterrupted run, in one W&B run."""
    env = {**os.environ, "WANDB_MODE": "offline"}
    env.pop("WANDB_DIR", None)
    hold = tmp_path / "hold"
    hold.touch()  # the PPO job runs slowly until the launcher has been stopped
    ppo = held_ppo(tmp_path, hold)
    commands = ["--track", "--seeds", "1", "--command", TD3, "--command", ppo]
    args = [sys.executable, LAUNCH, "--address", cluster.address, "--log-dir", "logs", *commands]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = read_lines(proc)
    progress = tmp_path / "logs" / "ppo_clip__HeldCartPole-v1__1.resume"
    wait_until(lambda: any(line.startswith("finished td3") for line in lines), "td3 did not finish")
    wait_until(lambda: progress.exists() and json.load(open(progress))["checkpoint"], "no checkpoint arrived")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    hold.unlink()  # the rest of the sweep runs at full speed
    assert "SIGTERM: stopping 1 running job(s)" in proc.stderr.read()
    first = json.load(open(progress))["checkpoint"]
    stopped_at = torch.load(tmp_path / first, weights_only=True)["loop"]["global_step"]
    # the run itself was stopped (SIGTERM) and saved where it stood; that checkpoint is the one collected
    log = open(tmp_path / "logs" / "ppo_clip__HeldCartPole-v1__1.log").read()
    assert f"SIGTERM: stopped at step {stopped_at};" in log, log[-500:]
    td3_record = open(tmp_path / "logs" / "td3__Pendulum-v1__1.json").read()

    again = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "done td3__Pendulum-v1__1: finished earlier" in again.stdout and "started td3" not in again.stdout
    assert "resumed ppo_clip__HeldCartPole-v1__1 on node " in again.stdout and f"from step {stopped_at}" in again.stdout
    assert open(tmp_path / "logs" / "td3__Pendulum-v1__1.json").read() == td3_record
    assert_same_as_uninterrupted(tmp_path, "ppo_clip__HeldCartPole-v1__1", ppo, 1)
    runs = [wandb_run_record(p) for p in glob.glob(str(tmp_path / "wandb" / "offline-run-*" / "run-*.wandb"))]
    ppo_runs = {(run.run_id, run.run_group) for run in runs if "ppo_clip" in run.display_name}
    assert len(runs) == 3 and len(ppo_runs) == 1  # td3, then ppo_clip stopped and resumed: one W&B run, one group
    launcher_dir = os.path.dirname(LAUNCH)  # the tag names the launcher's commit (a copy outside git: no-git)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=launcher_dir, capture_output=True, text=True)
    for run in runs:  # the sweep's group, tagged with the commit
        assert run.run_group.startswith("sweep-") and run.run_group == runs[0].run_group
        assert len(run.tags) == 1 and run.tags[0].startswith(commit.stdout.strip() or "no-git")


def wandb_run_record(path):
    """The run record (group, tags) of an offline .wandb file: a W&B header, then a LevelDB-style log of
    32 KiB blocks whose chunks carry protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data = open(path, "rb").read()
    assert data[:4] == b":W&B"
    pos, record = 7, b""
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # block trailer
            pos += 32768 - pos % 32768
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        record = chunk if kind in (1, 2) else record + chunk
        if kind in (1, 4):
            parsed = wandb_internal_pb2.Record()
            parsed.ParseFromString(record)
            if parsed.WhichOneof("record_type") == "run":
                return parsed.run
    raise AssertionError(f"no run record in {path}")

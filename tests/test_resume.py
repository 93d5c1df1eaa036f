"""Long runs lose nothing: a run stopped by a signal and resumed with --resume equals the uninterrupted run
(weights, optimiser and buffer state, logged returns, evaluation), the stop itself behaves as documented on a
real subprocess, a SIGKILL mid-write leaves the previous checkpoint loadable, and bad checkpoints stop with
one line."""

import glob
import itertools
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import pytest
import torch
from conftest import ALGOS, assert_wandb_runs, load_algo
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

OFF = dict(total_timesteps=1200, learning_starts=400, hidden_sizes=(32, 32), batch_size=32, checkpoint_every=300)
ON = dict(num_envs=2, num_steps=128, checkpoint_every=300)
PPO = dict(ON, num_minibatches=4, update_epochs=2)
# (file, env id, flags, vector steps after which SIGINT arrives): Discrete files on CartPole, Box files on
# Pendulum, PPO and TRPO on both, MuJoCo for one on-policy and one off-policy file. Off-policy runs stop
# inside the warm-up and after learning starts; on-policy runs mid-iteration.
CASES = [
    ("ppo_clip", "CartPole-v1", dict(PPO, total_timesteps=1536), 300),
    ("ppo_clip", "Pendulum-v1", dict(PPO, total_timesteps=1536), 300),
    ("ppo_clip", "HalfCheetah-v5", dict(PPO, total_timesteps=2048, num_envs=1), 1100),
    ("vpg", "CartPole-v1", dict(ON, total_timesteps=1536, vf_iters=5), 300),
    ("a2c", "CartPole-v1", dict(ON, total_timesteps=1536, num_steps=8), 300),
    ("trpo", "CartPole-v1", dict(ON, total_timesteps=1536, vf_iters=5), 300),
    ("trpo", "Pendulum-v1", dict(ON, total_timesteps=1536, vf_iters=5), 300),
    ("dqn", "CartPole-v1", dict(OFF, target_network_frequency=50), 200),
    ("dqn", "CartPole-v1", dict(OFF, target_network_frequency=50), 700),
    ("ddpg", "Pendulum-v1", OFF, 200),
    ("ddpg", "Pendulum-v1", OFF, 700),
    ("td3", "Pendulum-v1", OFF, 200),
    ("td3", "Pendulum-v1", OFF, 700),
    ("sac", "Pendulum-v1", OFF, 200),
    ("sac", "Pendulum-v1", OFF, 700),
    ("td3", "HalfCheetah-v5", dict(OFF, total_timesteps=1300), 1100),
]


def stop_at(monkeypatch, call: int, sig=signal.SIGINT):
    """Send a real signal to this process from inside the `call`-th vector-env step."""
    step, count = gym.vector.SyncVectorEnv.step, itertools.count(1)

    def signalling_step(self, actions):
        if next(count) == call:
            os.kill(os.getpid(), sig)
        return step(self, actions)

    monkeypatch.setattr(gym.vector.SyncVectorEnv, "step", signalling_step)


def episodic_returns(run_dir: str) -> list:
    acc = EventAccumulator(run_dir)  # drops the events a resumed run purged, as TensorBoard shows them
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars("charts/episodic_return")]


def assert_same_state(a, b, path=""):
    """Every tensor, number and list of two checkpoints is equal, to the bit."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same_state(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    else:
        assert a == b, path


def stopped_and_resumed(module, kwargs, call, monkeypatch):
    """Run with `kwargs` under exp_name "stopped", stop it with SIGINT at vector step `call`, resume it."""
    with monkeypatch.context() as m:
        stop_at(m, call)
        with pytest.raises(SystemExit) as stopped:
            module.main(module.Args(**kwargs, exp_name="stopped"))
    assert stopped.value.code == 130
    (run_dir,) = glob.glob("runs/*__stopped__*")
    after_its_events(run_dir)
    return module.main(module.Args(resume=run_dir, eval_episodes=2)), run_dir


def after_its_events(run_dir: str):
    """Wait for the second after the run's newest event file was made. TensorBoard reads a run's event files in
    name order: that second, then the host, the process and a counter of the process's writers, compared as
    text (10 sorts before 9). A resume by hand starts in a later second; one in the same process waits for it."""
    made = max(int(os.path.basename(p).split(".")[3]) for p in glob.glob(f"{run_dir}/events.out.tfevents.*"))
    time.sleep(max(0.0, made + 1 - time.time()))


@pytest.mark.parametrize("algo,env_id,flags,call", CASES, ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_stopped_and_resumed_run_equals_uninterrupted_run(algo, env_id, flags, call, monkeypatch):
    """Catches any part of the state a checkpoint or a resume drops: an optimiser, a random stream, the
    buffer's position, the normalisation statistics, a counter, the envs' mid-episode state."""
    module = load_algo(algo)
    kwargs = dict(env_id=env_id, eval_episodes=2, **flags)
    straight = module.main(module.Args(**kwargs, exp_name="straight"))
    resumed, run_dir = stopped_and_resumed(module, kwargs, call, monkeypatch)
    assert resumed["global_step"] == straight["global_step"]
    assert resumed["train_returns"] == straight["train_returns"] and straight["train_returns"]
    assert resumed["eval_returns"] == straight["eval_returns"]
    a = torch.load(f"runs/{straight['run_name']}/straight.pt", weights_only=True)
    b = torch.load(f"{run_dir}/stopped.pt", weights_only=True)
    for k in ("args", "run_name", "pickled"):
        a.pop(k), b.pop(k)
    assert_same_state(a, b)
    assert episodic_returns(f"runs/{straight['run_name']}") == episodic_returns(run_dir)


# Every file, small: (env id, flags, budget of the older checkpoint, full budget). Schedules are off or fixed by the
# first run's budget, so a resume to the full budget continues them.
EVERY = {
    "ppo_clip": ("CartPole-v1", dict(ON, num_minibatches=4, update_epochs=2, anneal_lr=False), 512, 1024),
    "vpg": ("CartPole-v1", dict(ON, vf_iters=5), 512, 1024),
    "a2c": ("CartPole-v1", dict(ON, num_steps=8, anneal_lr=False), 512, 1024),
    "trpo": ("Pendulum-v1", dict(ON, vf_iters=5), 512, 1024),
    "dqn": ("CartPole-v1", dict(OFF, target_network_frequency=50), 500, 800),
    "ddpg": ("Pendulum-v1", OFF, 500, 800),
    "td3": ("Pendulum-v1", OFF, 500, 800),
    "sac": ("Pendulum-v1", OFF, 500, 800),
}


@pytest.mark.parametrize("algo", EVERY)
def test_resume_from_an_older_checkpoint_hides_the_events_after_it(algo):
    """A node lost after its last checkpoint leaves events in TensorBoard past that step; the resumed run logs
    those steps again, and TensorBoard shows each once (purge_step), as the first resume logged them."""
    module, (env_id, flags, older_budget, budget) = load_algo(algo), EVERY[algo]
    first = module.main(module.Args(env_id=env_id, eval_episodes=0, **{**flags, "total_timesteps": older_budget}))
    run_dir = f"runs/{first['run_name']}"
    older = open(f"{run_dir}/{algo}.pt", "rb").read()
    after_its_events(run_dir)
    module.main(module.Args(resume=run_dir, total_timesteps=budget))
    resumed = episodic_returns(run_dir)
    assert resumed[-1][0] > older_budget
    open(f"{run_dir}/{algo}.pt", "wb").write(older)  # as if the steps after the older checkpoint were lost
    after_its_events(run_dir)
    module.main(module.Args(resume=run_dir, total_timesteps=budget))
    assert episodic_returns(run_dir) == resumed


@pytest.mark.parametrize("algo", EVERY)
def test_stop_line_names_the_step_its_checkpoint_holds(algo, monkeypatch, capsys):
    """The one line a stopped run prints names the step its checkpoint was saved at, in every file."""
    module, (env_id, flags, _, budget) = load_algo(algo), EVERY[algo]
    stop_at(monkeypatch, 150)
    with pytest.raises(SystemExit) as stopped:
        module.main(module.Args(env_id=env_id, eval_episodes=0, **{**flags, "total_timesteps": budget}))
    assert stopped.value.code == 130
    (run_dir,) = glob.glob("runs/*")
    step = torch.load(f"{run_dir}/{algo}.pt", weights_only=True)["loop"]["global_step"]
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert 150 <= step < budget and line.startswith(f"SIGINT: stopped at step {step}; resume with python ")


def test_resumed_trpo_policy_has_the_memory_layout_the_line_search_leaves(monkeypatch):
    """The line search leaves the policy's weights as views into one flat vector; loading a checkpoint gives
    one tensor each. Matrix products over a different layout may round differently, so a resumed run that
    keeps the loaded layout can drift from the uninterrupted run, or not, by chance: checked directly."""
    module, storages = load_algo("trpo"), []
    trpo_update = module.trpo_update

    def spy(agent, params, *rest):
        storages.append(len({p.untyped_storage().data_ptr() for p in params}))
        return trpo_update(agent, params, *rest)

    monkeypatch.setattr(module, "trpo_update", spy)
    kwargs = dict(env_id="Pendulum-v1", num_envs=1, num_steps=64, vf_iters=1, eval_episodes=0)
    first = module.main(module.Args(**kwargs, total_timesteps=128))
    module.main(module.Args(resume=f"runs/{first['run_name']}", total_timesteps=192))
    assert storages[0] > 1 and storages[1:] == [1, 1]  # fresh weights apart; one vector after every search


def test_a_mujoco_env_comes_back_with_its_random_stream_and_seed(tmp_path):
    """MuJoCo envs pickle only their constructor's arguments; the checkpoint adds their state. Reading
    np_random_seed on an env whose seed was never set reseeds it at random (gymnasium's lazy start), so the
    seed must come back with the random stream: the resumed env then resets exactly as the original does."""
    module = load_algo("td3")

    def make_envs(seed):
        envs = gym.vector.SyncVectorEnv(
            [module.make_env("HalfCheetah-v5")], autoreset_mode=module.AutoresetMode.SAME_STEP
        )
        envs.reset(seed=seed)
        return envs

    original, path = make_envs(3), "runs/run/td3.pt"
    original.step(original.action_space.sample())
    os.makedirs("runs/run")
    module.save_checkpoint(module.Args(), "run", None, {}, dict(global_step=1), original, [])
    resumed = make_envs(99)
    assert module.resume(torch.load(path, weights_only=True), resumed, []) == (dict(global_step=1), True)
    assert resumed.envs[0].unwrapped.np_random_seed == original.envs[0].unwrapped.np_random_seed == 3
    for envs in (original, resumed):  # an unseeded reset draws its start state from the env's own stream
        envs.envs[0].reset()
    assert torch.equal(*(torch.as_tensor(e.envs[0].unwrapped.data.qpos) for e in (original, resumed)))
    for envs in (original, resumed):
        envs.close()


def test_resume_continues_to_a_larger_budget():
    """A finished run resumed with a larger --total-timesteps trains on from where it ended."""
    module = load_algo("td3")
    first = module.main(module.Args(env_id="Pendulum-v1", eval_episodes=0, **OFF))
    more = module.main(module.Args(resume=f"runs/{first['run_name']}", total_timesteps=1500, eval_episodes=0))
    assert more["global_step"] == 1500 and more["run_name"] == first["run_name"]
    assert more["q_updates"] == first["q_updates"] + 300


# ---------------------------------------------------------------- real signals to a real process
def start(args, env=None):
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_progress(proc):
    """Block until the run prints its first progress line: training has started."""
    line = proc.stdout.readline()
    assert line.startswith("step "), line + proc.stderr.read()


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_cleanly_and_resume_finishes(sig, status, tmp_path):
    """SIGTERM (a scheduler, `kill`) or SIGINT (Ctrl-C): one line naming the resume command, exit 143 or 130, a
    checkpoint; the resumed run finishes in the same run folder and, tracked, the same W&B run."""
    script = os.path.join(ALGOS, "ppo_clip.py")
    env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(tmp_path), WANDB_SILENT="true")
    flags = ["--env-id", "CartPole-v1", "--num-envs", "4", "--num-steps", "256", "--eval-episodes", "1"]
    tracked = ["--track"] if sig == signal.SIGTERM else []
    proc = start([script, *flags, *tracked, "--total-timesteps", "200000"], env=env)
    wait_for_progress(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    (line,) = err.strip().splitlines()  # one line, no traceback
    (run_dir,) = glob.glob("runs/*")
    assert line.startswith(f"{sig.name}: stopped at step ") and line.endswith(f"--resume {run_dir}")
    state = torch.load(f"{run_dir}/ppo_clip.pt", weights_only=True)
    stopped_at = state["loop"]["global_step"]
    assert 0 < stopped_at < 200_000 and f"stopped at step {stopped_at};" in line
    done = subprocess.run(
        [sys.executable, script, "--resume", run_dir, "--total-timesteps", str(stopped_at + 2048)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"resumed {os.path.basename(run_dir)} at step {stopped_at}" in done.stdout
    state = torch.load(f"{run_dir}/ppo_clip.pt", weights_only=True)
    assert state["loop"]["global_step"] == stopped_at + 2048
    if tracked:  # the offline records of the two processes, each with its scalars: one W&B run id
        runs = assert_wandb_runs(tmp_path, count=2)
        assert all(r.endswith(f"-{state['wandb_id']}") for r in runs)


def test_second_ctrl_c_exits_at_once_without_traceback():
    """The first SIGINT waits for the iteration to end (a long one here); the second ends the process now."""
    script = os.path.join(ALGOS, "ppo_clip.py")
    proc = start([script, "--env-id", "CartPole-v1", "--num-envs", "4", "--num-steps", "8192"])
    wait_for_progress(proc)  # the first iteration ended: the second takes seconds
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    # 130 from the handler; a second signal that lands once the stop has finished and Python is shutting down
    # meets SIGINT's default action instead (-2). A shell shows both as 130; neither prints a traceback, which
    # a missing handler would (KeyboardInterrupt).
    assert proc.returncode in (130, -signal.SIGINT) and "Traceback" not in err, err


SIGKILL_DURING_SAVE = """
import importlib.util, os, signal, sys, torch
spec = importlib.util.spec_from_file_location("td3", sys.argv[1])
td3 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(td3)
save, calls = torch.save, []
def save_then_die(obj, f):  # the second checkpoint dies half-written
    calls.append(1)
    if len(calls) == 2:
        f.write(b"half a checkpoint")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    save(obj, f)
torch.save = save_then_die
td3.main(td3.Args(env_id="Pendulum-v1", total_timesteps=1200, learning_starts=400, hidden_sizes=(32, 32),
                  batch_size=32, checkpoint_every=300))
"""


def test_sigkill_while_writing_leaves_the_previous_checkpoint():
    proc = subprocess.run(
        [sys.executable, "-c", SIGKILL_DURING_SAVE, os.path.join(ALGOS, "td3.py")], capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    (run_dir,) = glob.glob("runs/*")
    assert os.path.getsize(f"{run_dir}/td3.pt.tmp") == len(b"half a checkpoint")
    assert torch.load(f"{run_dir}/td3.pt", weights_only=True)["loop"]["global_step"] == 300
    module = load_algo("td3")
    assert module.main(module.Args(resume=run_dir, eval_episodes=0))["global_step"] == 1200


# ---------------------------------------------------------------- bad checkpoints and changed flags
def bad_checkpoints(tmp_path):
    """(what, path) for every kind of bad checkpoint, made from a real one."""
    ppo = load_algo("ppo_clip")
    run = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, num_envs=2, num_steps=128, eval_episodes=0))
    good = f"runs/{run['run_name']}/ppo_clip.pt"
    data = open(good, "rb").read()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "corrupt.pt").write_bytes(bytes(range(256)) * 40)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    state = torch.load(good, weights_only=True)
    state["args"]["env_id"] = "gone_module:GoneEnv-v0"
    torch.save(state, tmp_path / "gone_env.pt")
    return good, {
        "missing": (str(tmp_path / "missing.pt"), "No such file or directory"),
        "truncated": (str(tmp_path / "truncated.pt"), "cannot read checkpoint"),
        "corrupt": (str(tmp_path / "corrupt.pt"), "cannot read checkpoint"),
        "foreign": (str(tmp_path / "foreign.pt"), "is not a checkpoint of this project, not of"),
        "gone env": (str(tmp_path / "gone_env.pt"), "cannot create gone_module:GoneEnv-v0"),
    }


def test_bad_checkpoint_stops_with_one_line(tmp_path):
    flag = "resume"
    good, cases = bad_checkpoints(tmp_path)
    for what, (path, message) in cases.items():
        for algo in ["ppo_clip", "sac"] if what == "foreign" else ["ppo_clip"]:
            module = load_algo(algo)
            with pytest.raises(SystemExit) as e:
                module.main(module.Args(**{flag: path}))
            assert str(e.value.code).startswith("error: ") and message in str(e.value.code), what
            assert "\n" not in str(e.value.code), what
    sac = load_algo("sac")
    with pytest.raises(SystemExit, match="is a checkpoint of ppo_clip.py, not of sac.py"):
        sac.main(sac.Args(**{flag: good}))
    proc = subprocess.run(
        [sys.executable, os.path.join(ALGOS, "ppo_clip.py"), f"--{flag.replace('_', '-')}", cases["corrupt"][0]],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_changed_algorithm_flag_on_resume_stops_with_one_line():
    ppo = load_algo("ppo_clip")
    run = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, num_envs=2, num_steps=128, eval_episodes=0))
    run_dir = f"runs/{run['run_name']}"
    with pytest.raises(SystemExit, match="error: --gamma cannot change from the saved run's 0.999, got 0.9"):
        ppo.main(ppo.Args(resume=run_dir, gamma=0.9))
    tuned = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, num_envs=2, num_steps=128, learning_rate=1e-3))
    for flags, message in [  # on the command line a flag typed at its class default is not dropped either
        (["--learning-rate", "3e-4"], "error: --learning-rate cannot change from the saved run's 0.001, got 0.0003"),
        (["--anneal-lr"], "error: --anneal-lr cannot change from the saved run's False, got True"),
    ]:
        script = os.path.join(ALGOS, "ppo_clip.py")
        proc = subprocess.run(
            [sys.executable, script, "--resume", f"runs/{tuned['run_name']}", *flags], capture_output=True, text=True
        )
        assert proc.returncode == 1 and proc.stderr.strip() == message, proc.stderr
    proc = subprocess.run(
        [sys.executable, os.path.join(ALGOS, "ppo_clip.py"), "--resume", run_dir, "--env-id", "Acrobot-v1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: --env-id cannot change from the saved run's")
    assert len(proc.stderr.strip().splitlines()) == 1

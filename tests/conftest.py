import glob
import importlib.util
import os
import re
import sys
import time

# One torch thread per test process: pytest-xdist runs a process per core. OMP_NUM_THREADS also reaches the
# scripts the tests start: ddpg.py, td3.py and sac.py keep torch's default (one thread per core), and two such
# runs side by side on 2 cores ran SAC at 43 steps/s each instead of about 145.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # the off-policy files otherwise keep torch's default of one thread per core

# ALGOS_DIR points the tests at a copy of algos/ (tests/planted_bugs.py plants bugs in such copies).
ALGOS = os.environ.get("ALGOS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "algos"
)


def load_algo(name: str):
    """Import algos/{name}.py as a module (the scripts are standalone files, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(ALGOS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def algo_source(name: str) -> str:
    return open(os.path.join(ALGOS, f"{name}.py")).read()


def assert_standalone(text: str):
    """No algorithm file imports another file of the project."""
    assert not re.search(r"^\s*(from|import)\s+(algos|vpg|dqn|a2c|ppo_clip|trpo|ddpg|td3|sac|conftest)\b", text, re.M)


def assert_checkpoint_replays_evaluation(module, path: str, eval_returns: list):
    """--resume of a finished run gives its final evaluation again (same weights, frozen statistics, the run's own
    seeds) and trains nothing, from weights alone: its pickled envs and random streams, here destroyed, are never
    read. Another seed stops with one line."""
    state = torch.load(path, weights_only=True)
    torch.save(dict(state, pickled=torch.zeros(7, dtype=torch.uint8)), path)  # unpickling this would fail
    evaluated = module.main(module.Args(resume=path, eval_episodes=len(eval_returns)))
    assert evaluated["eval_returns"] == pytest.approx(eval_returns) and "global_step" not in evaluated
    assert torch.load(path, weights_only=True)["loop"]["global_step"] == state["loop"]["global_step"]  # no step
    with pytest.raises(SystemExit, match="--seed cannot change from the saved run's 1, got 2"):
        module.main(module.Args(resume=path, seed=2))


def assert_wandb_runs(folder, count: int = 1) -> list:
    """`count` offline W&B runs under folder/wandb, each holding the run's config and TensorBoard's scalars (the
    keys of a .wandb record are plain text in it). Returns their folders."""
    runs = sorted(glob.glob(os.path.join(folder, "wandb", "offline-run-*")))
    assert len(runs) == count, runs
    for run in runs:
        (record,) = glob.glob(os.path.join(run, "*.wandb"))
        with open(record, "rb") as f:
            data = f.read()
        for key in (b"total_timesteps", b"charts/episodic_return", b"global_step"):
            assert key in data, f"{key} is not in {record}"
    return runs


def reference_log_prob_and_entropy(agent, obs, action):
    """log pi(action|obs) and the entropy of pi(.|obs) for one sample, from torch.distributions."""
    if agent.discrete:
        dist = torch.distributions.Categorical(logits=agent.actor(obs))
        return dist.log_prob(action.long()), dist.entropy()
    dist = torch.distributions.Normal(agent.actor_mean(obs), agent.actor_logstd[0].exp())
    return dist.log_prob(action).sum(), dist.entropy().sum()


def assert_same_seed_same_results(module, kwargs: dict):
    """Two runs with one seed match exactly; a third with another seed differs."""
    first, second = module.main(module.Args(**kwargs)), module.main(module.Args(**kwargs))
    assert first["train_returns"] and first["train_returns"] == second["train_returns"]
    assert first["eval_returns"] == second["eval_returns"]
    other = module.main(module.Args(**{**kwargs, "seed": kwargs["seed"] + 1}))
    assert other["train_returns"] != first["train_returns"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """Every test runs in its own directory, so runs/, videos/ and wandb/ land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    return tmp_path


def leftover_processes(pattern: str, wait: float = 20.0) -> list:
    """Command lines of this machine's processes matching `pattern`, once those ending anyway have ended."""
    deadline = time.time() + wait
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if re.search(pattern, command):
                found.append(command[:200])
        if not found or time.time() > deadline:
            return found
        time.sleep(0.5)


# Training processes started by a Ray task run from Ray's copy of the code; Ray's own daemons.
RAY_RUNS, RAY_DAEMONS = r"_ray_pkg_\w+/algos/", r"ray/core/src/ray/(raylet/raylet|gcs/gcs_server)"

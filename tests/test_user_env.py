"""`--env-id package.module:EnvName-v0`: the user's own environment, registered by importing their module,
in training, end-of-training evaluation and --resume of a finished run, from the command line and in-process."""

import os
import shutil
import subprocess
import sys

import gymnasium as gym
import pytest
from conftest import ALGOS, load_algo

USER_ENVS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "user_envs.py")
CASES = {  # algorithm, env id, flags: an on-policy and an off-policy file, Discrete and Box
    "ppo_clip": ("UserCorridor-v0", dict(num_envs=2, num_steps=64, num_minibatches=2, total_timesteps=256)),
    "dqn": ("UserCorridor-v0", dict(total_timesteps=300, learning_starts=100, hidden_sizes=(16,))),
    "td3": ("UserPoint-v0", dict(total_timesteps=300, learning_starts=100, hidden_sizes=(16,))),
}


def forget(module: str, env_ids):
    """Undo an earlier import, so only the import the algorithm file makes can register the envs."""
    sys.modules.pop(module, None)
    for env_id in env_ids:
        gym.registry.pop(env_id, None)


@pytest.mark.parametrize("algo", CASES)
def test_trains_and_evaluates_a_module_env_id(algo, tmp_path):
    """The module is imported from the current folder; the checkpoint keeps the full id, so evaluating it
    imports the module again."""
    shutil.copy(USER_ENVS, tmp_path / "my_envs.py")
    env_name, flags = CASES[algo]
    forget("my_envs", ["UserCorridor-v0", "UserPoint-v0"])
    module = load_algo(algo)
    out = module.main(module.Args(env_id=f"my_envs:{env_name}", eval_episodes=2, **flags))
    assert out["global_step"] > 0 and len(out["eval_returns"]) == 2
    assert out["args"].env_id == f"my_envs:{env_name}"
    forget("my_envs", ["UserCorridor-v0", "UserPoint-v0"])
    evaluated = module.main(module.Args(resume=f"runs/{out['run_name']}/{algo}.pt", eval_episodes=2))
    assert evaluated["eval_returns"] == pytest.approx(out["eval_returns"])


def test_command_line_trains_and_evaluates_a_module_env_id(tmp_path):
    shutil.copy(USER_ENVS, tmp_path / "my_envs.py")
    script = os.path.join(ALGOS, "sac.py")
    train = [
        sys.executable,
        script,
        "--env-id",
        "my_envs:UserPoint-v0",
        "--total-timesteps",
        "300",
        "--learning-starts",
        "100",
        "--hidden-sizes",
        "16",
        "--eval-episodes",
        "1",
    ]
    proc = subprocess.run(train, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (checkpoint,) = [os.path.join(d, f) for d, _, files in os.walk(tmp_path / "runs") for f in files if f == "sac.pt"]
    proc = subprocess.run(
        [sys.executable, script, "--resume", checkpoint, "--eval-episodes", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "eval my_envs:UserPoint-v0:" in proc.stdout


@pytest.mark.parametrize("algo", ["ppo_clip", "sac"])
def test_bad_module_env_ids_stop_with_one_line(algo, tmp_path):
    (tmp_path / "broken_envs.py").write_text("raise RuntimeError('boom')\n")
    shutil.copy(USER_ENVS, tmp_path / "my_envs.py")
    module = load_algo(algo)
    for env_id, message in [
        (
            "no_such_module:UserPoint-v0",
            "cannot create no_such_module:UserPoint-v0: ModuleNotFoundError: No module named 'no_such_module'",
        ),
        (
            "broken_envs:UserPoint-v0",
            "cannot create broken_envs:UserPoint-v0: RuntimeError: boom",
        ),
        (
            "my_envs:UserPont-v0",
            "cannot create my_envs:UserPont-v0: NameNotFound: Environment `UserPont` doesn't exist. "
            "Did you mean: `UserPoint`?",
        ),
    ]:
        with pytest.raises(SystemExit) as exc:
            module.main(module.Args(env_id=env_id))
        assert str(exc.value.code).startswith(f"error: {message}")
        assert "\n" not in str(exc.value.code)

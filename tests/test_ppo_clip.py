import glob
import math
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ALGOS, load_algo

ppo = load_algo("ppo_clip")


# ---------------------------------------------------------------- maths
def reference_gae(rewards, values, terms, truncs, final_values, next_value, gamma, lam):
    """Slow, obvious GAE: for every (t, env) sum (gamma lam)^l delta_{t+l} forward to the episode's end."""
    T, N = len(rewards), len(rewards[0])
    adv = [[0.0] * N for _ in range(T)]
    for n in range(N):
        for t in range(T):
            total, coef = 0.0, 1.0
            for k in range(t, T):
                if terms[k][n]:
                    total += coef * (rewards[k][n] - values[k][n])
                    break
                if truncs[k][n]:
                    total += coef * (rewards[k][n] + gamma * final_values[k][n] - values[k][n])
                    break
                v_next = values[k + 1][n] if k + 1 < T else next_value[n]
                total += coef * (rewards[k][n] + gamma * v_next - values[k][n])
                coef *= gamma * lam
            adv[t][n] = total
    return adv


def gae_inputs(T=9, N=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    rewards, values = torch.randn(T, N, generator=g), torch.randn(T, N, generator=g)
    final_values, next_value = torch.randn(T, N, generator=g), torch.randn(N, generator=g)
    terms, truncs = torch.zeros(T, N), torch.zeros(T, N)
    terms[2, 0] = 1.0  # a termination inside the batch
    truncs[4, 1] = 1.0  # a truncation inside the batch
    terms[6, 2] = truncs[6, 2] = 1.0  # both at once: the termination wins, nothing to bootstrap
    truncs[T - 1, 0] = 1.0  # a truncation on the batch's last step
    return rewards, values, terms, truncs, final_values, next_value


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.5, 0.0)])
def test_gae_matches_slow_reference(gamma, lam):
    rewards, values, terms, truncs, final_values, next_value = gae_inputs()
    adv, ret = ppo.compute_gae(rewards, values, terms, truncs, final_values, next_value, gamma, lam)
    expected = torch.tensor(reference_gae(rewards.tolist(), values.tolist(), terms.tolist(), truncs.tolist(),
                                          final_values.tolist(), next_value.tolist(), gamma, lam))
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + values)


def test_gae_lambda_one_gives_bootstrapped_discounted_return():
    rewards, values, terms, truncs, final_values, next_value = gae_inputs()
    _, ret = ppo.compute_gae(rewards, values, terms, truncs, final_values, next_value, 0.9, 1.0)
    # env 1 is truncated at t=4: the return at t=3 is r3 + 0.9 r4 + 0.81 V(final obs at t=4)
    torch.testing.assert_close(ret[3, 1], rewards[3, 1] + 0.9 * rewards[4, 1] + 0.81 * final_values[4, 1])
    # env 0 terminates at t=2: the return at t=1 is r1 + 0.9 r2, no bootstrap
    torch.testing.assert_close(ret[1, 0], rewards[1, 0] + 0.9 * rewards[2, 0])
    # env 2 terminates and truncates at t=6: the final value is ignored
    torch.testing.assert_close(ret[6, 2], rewards[6, 2])


def test_gaussian_log_prob_matches_closed_form():
    space = gym.spaces.Box(-1.0, 1.0, (3,))
    agent = ppo.Agent(4, space, (16,))
    with torch.no_grad():
        agent.actor_logstd.copy_(torch.tensor([[-0.5, 0.0, 0.7]]))
    x, a = torch.randn(5, 4), torch.randn(5, 3)
    _, logprob, entropy, _ = agent.get_action_and_value(x, a)
    mu, log_std = agent.actor_mean(x), agent.actor_logstd
    expected = (-0.5 * ((a - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    torch.testing.assert_close(logprob, expected)
    torch.testing.assert_close(entropy, (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1).expand(5))


def test_categorical_log_prob_is_log_softmax():
    agent = ppo.Agent(4, gym.spaces.Discrete(3), (16,))
    x, a = torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 1, 0])
    _, logprob, _, _ = agent.get_action_and_value(x, a)
    torch.testing.assert_close(logprob, torch.log_softmax(agent.actor(x), -1)[torch.arange(6), a])


def test_clipped_surrogate_hand_computed():
    ratio = torch.tensor([0.5, 0.5, 1.0, 1.5, 1.5, 1.1])
    adv = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, 2.0])
    # per sample -min(rA, clip(r, 0.8, 1.2)A): -0.5, 0.8, 1.0, -1.2, 1.5, -2.2
    logratio = ratio.log().requires_grad_()
    loss = ppo.clipped_surrogate_loss(logratio, adv, 0.2)
    assert loss.item() == pytest.approx((-0.5 + 0.8 + 1.0 - 1.2 + 1.5 - 2.2) / 6)
    loss.backward()
    # d/dlogr of -rA/6 is -rA/6 where the unclipped term is active, 0 where the clip is active
    torch.testing.assert_close(logratio.grad, torch.tensor([-0.5, 0.0, 1.0, 0.0, 1.5, -2.2]) / 6)


def test_value_loss_hand_computed():
    new, old, ret = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]), torch.tensor([2.0, -1.0])
    assert ppo.value_loss(new, old, ret, 0.2, False).item() == pytest.approx(0.5 * (1.0 + 1.0) / 2)
    # clipped prediction of sample 0 is 0.2: error 1.8^2 = 3.24 > 1, so the pessimistic max takes it
    assert ppo.value_loss(new, old, ret, 0.2, True).item() == pytest.approx(0.5 * (3.24 + 1.0) / 2)


def test_running_mean_std_matches_numpy():
    rms, rng = ppo.RunningMeanStd((3,)), np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, size=(n, 3)) for n in (1, 5, 17, 4)]
    for b in batches:
        rms.update(b)
    data = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-4)


# ---------------------------------------------------------------- time limits
class ConstantEnv(gym.Env):
    """Reward 1 every step and a constant observation; it ends only by the 10-step limit."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, terminate=False):
        self.terminate, self.t = terminate, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 1.0, self.terminate and self.t >= 10, False, {}


gym.register("TestConstantTruncated-v0", entry_point=ConstantEnv, max_episode_steps=10)
gym.register("TestConstantTerminated-v0", entry_point=ConstantEnv, kwargs={"terminate": True})


@pytest.mark.parametrize("env_id,low,high", [("TestConstantTruncated-v0", 9.0, 11.0),
                                             ("TestConstantTerminated-v0", 3.0, 5.5)])
def test_truncation_bootstraps_and_termination_does_not(env_id, low, high):
    """With gamma 0.9, a time limit the agent cannot see must not change the value: 1 / (1 - 0.9) = 10.
    If the episode really ends after 10 steps, the best constant estimate is the average over the 10
    steps of the remaining discounted reward, 10 * (1 - mean(0.9^1..0.9^10)) = 4.14."""
    out = ppo.main(ppo.Args(env_id=env_id, total_timesteps=16_384, num_envs=2, num_steps=64, gamma=0.9,
                            learning_rate=3e-3, anneal_lr=False, clip_vloss=False, save_model=True, eval_episodes=0))
    state = torch.load(f"runs/{out['run_name']}/ppo_clip.pt", weights_only=True)
    agent = ppo.Agent(1, gym.spaces.Discrete(2), (64, 64))
    agent.load_state_dict(state["agent"])
    value = agent.get_value(torch.zeros(1, 1)).item()
    assert low < value < high


# ---------------------------------------------------------------- smoke and checkpoints
SMOKE = {
    "CartPole-v1": dict(total_timesteps=1024, num_envs=2, num_steps=64),
    "Pendulum-v1": dict(total_timesteps=1024, num_steps=256, num_minibatches=4, update_epochs=2),
    "LunarLander-v2": dict(total_timesteps=1024, num_envs=2, num_steps=128),
}


@pytest.mark.parametrize("env_id", list(SMOKE))
def test_smoke_train_save_and_evaluate_checkpoint(env_id):
    out = ppo.main(ppo.Args(env_id=env_id, save_model=True, eval_episodes=2, **SMOKE[env_id]))
    a = out["args"]
    batch = a.num_envs * a.num_steps
    assert out["global_step"] == (1024 // batch) * batch
    assert out["iterations"] == 1024 // batch >= 4
    assert out["updates"] == out["iterations"] * a.update_epochs * a.num_minibatches
    assert out["episodes"] > 0 and len(out["eval_returns"]) == 2
    path = f"runs/{out['run_name']}/ppo_clip.pt"
    assert os.path.isfile(path) and not os.path.exists(path + ".tmp")
    state = torch.load(path, weights_only=True)
    assert state["args"]["env_id"] == a.env_id and state["global_step"] == out["global_step"]
    assert (state["obs_rms"] is not None) == (env_id == "Pendulum-v1")
    evaluated = ppo.main(ppo.Args(eval_checkpoint=path, eval_episodes=2, seed=a.seed + 10_000))
    # Same weights, same frozen normalisation, same seeds: the checkpoint reproduces the final evaluation.
    assert evaluated["eval_returns"] == pytest.approx(out["eval_returns"])


def test_action_space_defaults():
    assert ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, eval_episodes=0))["args"].num_envs == 4
    a = ppo.main(ppo.Args(env_id="Pendulum-v1", total_timesteps=2048, num_minibatches=2, eval_episodes=0))["args"]
    assert (a.num_envs, a.num_steps, a.update_epochs, a.learning_rate, a.norm_obs) == (1, 2048, 10, 3e-4, True)


# ---------------------------------------------------------------- learning
def test_learns_cartpole():
    out = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=100_000, seed=1, eval_episodes=10))
    assert out["eval_mean_return"] >= 300, out["eval_returns"]


# ---------------------------------------------------------------- outputs
def test_event_file_holds_documented_tags():
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=1024, num_envs=2, num_steps=128, eval_episodes=2))
    acc = EventAccumulator(f"runs/{out['run_name']}")
    acc.Reload()
    expected = {"charts/episodic_return", "charts/episodic_length", "charts/SPS", "charts/learning_rate",
                "losses/policy_loss", "losses/value_loss", "losses/entropy", "losses/approx_kl",
                "losses/clipfrac", "losses/explained_variance", "eval/episodic_return"}
    assert expected <= set(acc.Tags()["scalars"])
    assert len(acc.Scalars("eval/episodic_return")) == 2
    assert [e.step for e in acc.Scalars("charts/SPS")] == [256, 512, 768, 1024]


def test_track_offline_leaves_wandb_run(tmp_path):
    ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, num_envs=2, num_steps=128, track=True, eval_episodes=1))
    runs = glob.glob(str(tmp_path / "wandb" / "offline-run-*"))
    assert len(runs) == 1 and glob.glob(os.path.join(runs[0], "*.wandb"))


def test_capture_video_writes_mp4():
    out = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=512, num_envs=2, num_steps=128,
                            capture_video=True, eval_episodes=1))
    videos = glob.glob(f"videos/{out['run_name']}/*.mp4")
    assert videos and os.path.getsize(videos[0]) > 0


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,message", [
    (dict(env_id="CartPol-v1"), "unknown env id 'CartPol-v1'; did you mean CartPole-v1"),
    (dict(env_id="NoSuchEnvAtAll-v0"), "unknown env id 'NoSuchEnvAtAll-v0'"),
    (dict(env_id="FrozenLake-v1"), "supports flat Box observations"),
    (dict(env_id="CartPole-v1", total_timesteps=0), "--total-timesteps must be positive"),
    (dict(env_id="CartPole-v1", num_steps=-5), "--num-steps must be positive"),
    (dict(env_id="CartPole-v1", num_envs=0), "--num-envs must be positive"),
    (dict(env_id="CartPole-v1", num_minibatches=3), "--num-minibatches 3 does not divide"),
    (dict(env_id="CartPole-v1", gamma=1.5), "--gamma must be in [0, 1]"),
    (dict(env_id="CartPole-v1", learning_rate=0.0), "--learning-rate must be positive"),
    (dict(env_id="CartPole-v1", total_timesteps=100), "is less than one batch"),
    (dict(eval_checkpoint="missing.pt"), "no checkpoint at missing.pt"),
])
def test_bad_input_exits_with_message(kwargs, message):
    with pytest.raises(SystemExit) as exc:
        ppo.main(ppo.Args(**kwargs))
    assert message in str(exc.value.code)


def test_bad_input_on_command_line_is_one_line_and_nonzero():
    proc = subprocess.run([sys.executable, os.path.join(ALGOS, "ppo_clip.py"), "--env-id", "CartPol-v1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: unknown env id 'CartPol-v1'; did you mean CartPole-v1")


def test_retired_id_maps_to_successor(capsys):
    assert ppo.resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert "LunarLander-v2 is retired" in capsys.readouterr().out
    assert ppo.resolve_env_id("CartPole-v1") == "CartPole-v1"


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_same_seed_same_results(env_id):
    kwargs = dict(env_id=env_id, total_timesteps=2048, num_steps=256, num_minibatches=4, seed=7, eval_episodes=2)
    first, second = ppo.main(ppo.Args(**kwargs)), ppo.main(ppo.Args(**kwargs))
    assert first["train_returns"] and first["train_returns"] == second["train_returns"]
    assert first["eval_returns"] == second["eval_returns"]
    other = ppo.main(ppo.Args(**{**kwargs, "seed": 8}))
    assert other["train_returns"] != first["train_returns"]


# ---------------------------------------------------------------- structure
def test_file_is_standalone_and_within_budget():
    source = open(os.path.join(ALGOS, "ppo_clip.py")).read()
    assert len(source.splitlines()) <= 500
    for other in ["vpg", "dqn", "a2c", "trpo", "ddpg", "td3", "sac", "conftest"]:
        assert f"import {other}" not in source and f"from {other}" not in source

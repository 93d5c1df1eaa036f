"""Tests every off-policy file (dqn, ddpg, td3, sac) must pass, and their algorithm-specific maths."""

import glob
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import (
    ALGOS,
    algo_source,
    assert_checkpoint_replays_evaluation,
    assert_same_seed_same_results,
    assert_standalone,
    assert_wandb_runs,
    load_algo,
)

OFF_POLICY = ["dqn", "ddpg", "td3", "sac"]
CONTINUOUS = ["ddpg", "td3", "sac"]
SMOKE_ENV = {"dqn": "CartPole-v1", "ddpg": "Pendulum-v1", "td3": "Pendulum-v1", "sac": "Pendulum-v1"}
# Past learning_starts by 300 vector steps: hundreds of critic steps, delayed actor steps and target syncs.
SMOKE = {
    "dqn": dict(
        total_timesteps=700,
        learning_starts=100,
        batch_size=32,
        train_frequency=2,
        target_network_frequency=50,
        hidden_sizes=(32, 32),
    ),
    "ddpg": dict(total_timesteps=400, learning_starts=100, batch_size=32, hidden_sizes=(32, 32)),
    "td3": dict(total_timesteps=400, learning_starts=100, batch_size=32, hidden_sizes=(32, 32)),
    "sac": dict(total_timesteps=400, learning_starts=100, batch_size=32, hidden_sizes=(32, 32)),
}


# ---------------------------------------------------------------- maths
@pytest.mark.parametrize("algo", OFF_POLICY)
def test_soft_update_is_polyak_average(algo):
    """Catches tau and 1 - tau swapped, and a target that copies instead of averaging."""
    module = load_algo(algo)
    torch.manual_seed(0)
    target, source = nn.Linear(3, 2), nn.Linear(3, 2)
    expected = [0.3 * s.detach() + 0.7 * t.detach() for t, s in zip(target.parameters(), source.parameters())]
    module.soft_update(target, source, 0.3)
    for t, e in zip(target.parameters(), expected):
        torch.testing.assert_close(t.detach(), e)
    module.soft_update(target, source, 1.0)  # tau 1: a hard copy
    for t, s in zip(target.parameters(), source.parameters()):
        assert torch.equal(t, s)


def test_sac_squashed_gaussian_log_prob_matches_numerical_change_of_variables():
    """Catches a missing or wrong change-of-variables term, a lost log-std term, and actions outside the bounds."""
    sac = load_algo("sac")
    space = gym.spaces.Box(np.array([-2.0, 0.0, 1.0]), np.array([2.0, 1.0, 5.0]), dtype=np.float32)
    torch.manual_seed(0)
    actor = sac.Actor(4, space, (16,)).double()
    obs = torch.randn(6, 4, dtype=torch.float64)
    action, log_prob = actor.get_action(obs)
    mean, log_std = actor.mean_and_log_std(obs)
    scale, bias = actor.action_scale.double(), actor.action_bias.double()
    u = torch.atanh((action - bias) / scale)
    gaussian = torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)
    h = 1e-6  # |da/du| per dimension by central differences of the squashing map u -> tanh(u) * scale + bias
    jacobian = ((torch.tanh(u + h) - torch.tanh(u - h)) * scale / (2 * h)).abs()
    torch.testing.assert_close(log_prob, gaussian - jacobian.log().sum(-1), rtol=1e-4, atol=1e-4)
    assert ((action >= torch.as_tensor(space.low)) & (action <= torch.as_tensor(space.high))).all()
    # evaluation acts with the squashed mean
    torch.testing.assert_close(actor(obs), torch.tanh(mean) * scale + bias)


def test_sac_log_prob_stays_exact_where_tanh_saturates(monkeypatch):
    """At u = 10 the squashing term log(1 - tanh(u)^2) is -2 log cosh(10) = -18.6 with a gradient of
    2 tanh(u) per dimension; the common form log(1 - tanh(u)^2 + 1e-6) flattens to log(1e-6) = -13.8 with no
    gradient once tanh rounds to 1 in float32. Catches that form."""
    sac = load_algo("sac")
    space = gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 1.0]), dtype=np.float32)
    actor = sac.Actor(3, space, (8,))
    with torch.no_grad():
        actor.net[-1].weight.zero_()
        actor.net[-1].bias.copy_(torch.tensor([10.0, -10.0, 0.0, 0.0]))  # means +-10, raw log-std 0
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)  # u = mean exactly
    obs = torch.zeros(1, 3)
    _, log_prob = actor.get_action(obs)
    mean, log_std = actor.mean_and_log_std(obs)
    u, scale = mean.double(), actor.action_scale.double()
    gaussian = -log_std.double() - 0.5 * np.log(2 * np.pi)
    expected = (gaussian - torch.log(scale) + 2 * torch.log(torch.cosh(u))).sum(-1)
    torch.testing.assert_close(log_prob.double(), expected, rtol=1e-5, atol=1e-4)
    mean_param = actor.net[-1].bias
    (grad,) = torch.autograd.grad(log_prob.sum(), mean_param)
    torch.testing.assert_close(grad[:2], 2 * torch.tanh(u[0]).float(), rtol=1e-4, atol=1e-4)


def centred_actor(td3, space):
    """An actor whose mu(s') is the middle of every action dimension, so the smoothing noise shows alone."""
    actor = td3.Actor(2, space, (8,))
    with torch.no_grad():
        actor.net[-1].weight.zero_()
        actor.net[-1].bias.zero_()
    return actor


def test_td3_target_smoothing_noise_has_the_paper_std_and_clip():
    """eq. 14: a~ = mu'(s') + clip(eps, -c, c), eps ~ N(0, sigma), per dimension in units of its half-range.
    With mu' in the middle of the bounds the noise is what remains: std sigma * half-range (a touch less
    for the clip at 2.5 sigma), never beyond c * half-range, and reaching it. Catches the noise removed,
    the clip removed, or the noise not scaled per dimension."""
    td3 = load_algo("td3")
    space = gym.spaces.Box(np.array([-1.0, 0.0]), np.array([1.0, 4.0]), dtype=np.float32)  # half-ranges 1, 2
    torch.manual_seed(0)
    actor = centred_actor(td3, space)
    noise = td3.smoothed_target_actions(actor, torch.randn(40_000, 2), policy_noise=0.2, noise_clip=0.5)
    noise = noise - actor.action_bias
    half_range = actor.action_scale
    clipped_std = 0.988  # the std of N(0, 1) clipped at +-2.5
    torch.testing.assert_close(noise.std(0), 0.2 * half_range * clipped_std, rtol=0.02, atol=0)
    assert (noise.abs() <= 0.5 * half_range + 1e-6).all()
    assert (noise.abs().amax(0) > 0.49 * half_range).all()


def test_td3_smoothed_target_stays_inside_per_dimension_bounds():
    """With mu'(s') saturated on the bounds, the smoothed action is clipped back inside them per dimension."""
    td3 = load_algo("td3")
    space = gym.spaces.Box(np.array([-1.0, 0.0, 2.0]), np.array([1.0, 5.0, 3.0]), dtype=np.float32)
    torch.manual_seed(0)
    actor = td3.Actor(2, space, (8,))
    with torch.no_grad():
        actor.net[-1].weight.mul_(1000.0)  # saturate tanh: mu(s') sits on the bounds
    actions = td3.smoothed_target_actions(actor, torch.randn(4096, 2), policy_noise=0.5, noise_clip=0.5)
    low, high = torch.as_tensor(space.low), torch.as_tensor(space.high)
    assert ((actions >= low) & (actions <= high)).all()
    assert (actions == low).any() and (actions == high).any()  # the clip was exercised on both sides


class FixedCritic(nn.Module):
    """Q(s, a) = the given value per sample, whatever s and a."""

    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values)

    def forward(self, obs, action):
        return self.values


def transitions():
    return {
        "next_obs": torch.zeros(4, 2),
        "rewards": torch.tensor([1.0, 1.0, 2.0, 2.0]),
        "terminations": torch.tensor([0.0, 1.0, 0.0, 0.0]),
    }


def test_td3_target_takes_the_smaller_target_critic():
    """eq. 10: y = r + gamma (1 - terminated) min(Q1', Q2'). The two critics disagree in both directions,
    so using one critic, the larger, or their mean all give other targets."""
    td3 = load_algo("td3")
    actor = centred_actor(td3, gym.spaces.Box(-1.0, 1.0, (1,), np.float32))
    q1, q2 = FixedCritic([5.0, 5.0, 1.0, 4.0]), FixedCritic([3.0, 3.0, 3.0, 4.0])
    y = td3.td_targets(transitions(), actor, q1, q2, gamma=0.5, policy_noise=0.2, noise_clip=0.5)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.5 * 3.0, 1.0, 2.0 + 0.5 * 1.0, 2.0 + 0.5 * 4.0]))


class FixedPolicy(nn.Module):
    """get_action returns zero actions with the given log-densities."""

    def __init__(self, log_probs):
        super().__init__()
        self.log_probs = torch.tensor(log_probs)

    def get_action(self, obs):
        return torch.zeros(len(obs), 1), self.log_probs


def test_sac_target_adds_the_entropy_bonus_to_the_smaller_critic():
    """eqs. 3 and 5: y = r + gamma (1 - terminated) (min(Q1', Q2') - alpha log pi(a'|s')). A likely action
    (log pi > 0) lowers the target, an unlikely one raises it. Catches the sign of the entropy term, alpha
    left out, or a single critic."""
    sac = load_algo("sac")
    q1, q2 = FixedCritic([5.0, 5.0, 1.0, 4.0]), FixedCritic([3.0, 3.0, 3.0, 4.0])
    policy = FixedPolicy([2.0, 2.0, -1.0, 0.0])
    y = sac.td_targets(transitions(), policy, q1, q2, alpha=0.1, gamma=0.5)
    expected = [1.0 + 0.5 * (3.0 - 0.2), 1.0, 2.0 + 0.5 * (1.0 + 0.1), 2.0 + 0.5 * 4.0]
    torch.testing.assert_close(y, torch.tensor(expected))


def test_sac_temperature_rises_when_entropy_is_below_target():
    """eq. 18: a gradient step on J(alpha) raises alpha while the entropy -log pi is below the target and
    lowers it above; the default target is -dim(A). Catches a flipped loss or a target of +dim(A)."""
    sac = load_algo("sac")
    assert sac.default_target_entropy(gym.spaces.Box(-1.0, 1.0, (3,))) == -3.0
    for log_pi, direction in [(torch.full((8,), 5.0), 1.0), (torch.full((8,), -5.0), -1.0)]:
        log_alpha = torch.tensor(0.0, requires_grad=True)
        loss = sac.temperature_loss(log_alpha, log_pi, target_entropy=-3.0)  # entropy -5 (< -3), then +5
        torch.testing.assert_close(loss, -(log_pi - 3.0).mean())
        loss.backward()
        assert torch.sign(-log_alpha.grad).item() == direction  # descent direction of log alpha


def test_dqn_target_uses_target_max_and_double_uses_online_argmax():
    """Catches Double DQN choosing with the target network, a max over the online network, and a terminal
    transition that still bootstraps."""
    dqn = load_algo("dqn")
    online, target = nn.Linear(1, 3, bias=True), nn.Linear(1, 3, bias=True)
    with torch.no_grad():
        for net in (online, target):
            net.weight.zero_()
        online.bias.copy_(torch.tensor([0.0, 5.0, 1.0]))  # online prefers action 1
        target.bias.copy_(torch.tensor([7.0, 2.0, 3.0]))  # target's max is action 0
    data = {
        "rewards": torch.tensor([1.0, 1.0]),
        "next_obs": torch.zeros(2, 1),
        "terminations": torch.tensor([0.0, 1.0]),
    }
    plain = dqn.td_targets(data, online, target, 0.5, double_q=False)
    double = dqn.td_targets(data, online, target, 0.5, double_q=True)
    torch.testing.assert_close(plain, torch.tensor([1.0 + 0.5 * 7.0, 1.0]))
    torch.testing.assert_close(double, torch.tensor([1.0 + 0.5 * 2.0, 1.0]))


def test_dqn_linear_schedule():
    """Catches an epsilon that never decays, decays past end_e, or ends at the wrong step."""
    dqn = load_algo("dqn")
    assert dqn.linear_schedule(1.0, 0.05, 100, 0) == 1.0
    assert dqn.linear_schedule(1.0, 0.05, 100, 50) == pytest.approx(0.525)
    assert dqn.linear_schedule(1.0, 0.05, 100, 100) == pytest.approx(0.05)
    assert dqn.linear_schedule(1.0, 0.05, 100, 1000) == pytest.approx(0.05)


# ---------------------------------------------------------------- replay buffer and time limits
class CounterEnv(gym.Env):
    """Observation = steps taken so far; terminates after `terminate_at` steps if given."""

    observation_space = gym.spaces.Box(0.0, 100.0, (1,), np.float32)

    def __init__(self, discrete=False, terminate_at=None):
        self.action_space = gym.spaces.Discrete(2) if discrete else gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.terminate_at, self.t = terminate_at, 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.terminate_at is not None and self.t >= self.terminate_at
        return np.array([self.t], np.float32), 1.0, done, False, {}


for _discrete in (False, True):
    _kind = "Discrete" if _discrete else "Box"
    gym.register(
        f"TestCounterTruncated{_kind}-v0", entry_point=CounterEnv, max_episode_steps=5, kwargs={"discrete": _discrete}
    )
    gym.register(
        f"TestCounterTerminated{_kind}-v0", entry_point=CounterEnv, kwargs={"discrete": _discrete, "terminate_at": 7}
    )


@pytest.mark.parametrize("algo", OFF_POLICY)
@pytest.mark.parametrize("ending", ["Truncated", "Terminated"])
def test_buffer_stores_true_final_obs_and_termination_only(algo, ending, monkeypatch):
    """Catches the next episode's first observation stored as next_obs, and a truncation stored as done."""
    module = load_algo(algo)
    stored = []

    class Recording(module.ReplayBuffer):
        def add(self, obs, next_obs, actions, rewards, terminations):
            stored.extend(zip(obs[:, 0].tolist(), next_obs[:, 0].tolist(), np.asarray(terminations).tolist()))
            super().add(obs, next_obs, actions, rewards, terminations)

    monkeypatch.setattr(module, "ReplayBuffer", Recording)
    env_id = f"TestCounter{ending}{'Discrete' if algo == 'dqn' else 'Box'}-v0"
    out = module.main(module.Args(env_id=env_id, num_envs=2, **{**SMOKE[algo], "total_timesteps": 300}))
    assert len(stored) == out["global_step"] == 300
    last = 5 if ending == "Truncated" else 7
    for obs, next_obs, terminated in stored:
        assert next_obs == obs + 1  # never the reset observation 0
        assert terminated == (ending == "Terminated" and next_obs == last)
    # two envs, 150 vector steps each: every env ends an episode every `last` steps
    assert sum(next_obs == last for _, next_obs, _ in stored) == 2 * (150 // last)


# ---------------------------------------------------------------- smoke and checkpoints
@pytest.mark.parametrize("algo", OFF_POLICY)
def test_smoke_train_save_and_evaluate_checkpoint(algo):
    module = load_algo(algo)
    out = module.main(module.Args(env_id=SMOKE_ENV[algo], eval_episodes=2, **SMOKE[algo]))
    a = out["args"]
    assert out["global_step"] == a.total_timesteps
    learning_steps = a.total_timesteps - a.learning_starts
    if algo == "dqn":
        assert out["updates"] == learning_steps // a.train_frequency
        assert out["target_updates"] == learning_steps // a.target_network_frequency >= 2
    else:
        assert out["q_updates"] == learning_steps >= 200
        # DDPG: one actor step per critic step; TD3: every second; SAC: two every second (same count)
        expected = {"ddpg": learning_steps, "td3": learning_steps // 2, "sac": learning_steps}[algo]
        assert out["actor_updates"] == expected
    assert out["episodes"] > 0 and len(out["eval_returns"]) == 2
    path = f"runs/{out['run_name']}/{algo}.pt"
    assert os.path.isfile(path) and not os.path.exists(path + ".tmp")
    state = torch.load(path, weights_only=True)
    assert state["args"]["env_id"] == a.env_id and state["loop"]["global_step"] == out["global_step"]
    assert_checkpoint_replays_evaluation(module, path, out["eval_returns"])


# Pendulum's torque rescaled from [-2, 2] to [0.5, 3]: bounds that are neither symmetric nor [-1, 1].
gym.register(
    "TestAsymmetricPendulum-v0",
    max_episode_steps=200,
    entry_point=lambda: gym.wrappers.RescaleAction(gym.make("Pendulum-v1").unwrapped, np.float32(0.5), np.float32(3.0)),
)


@pytest.mark.parametrize("algo", CONTINUOUS)
def test_actions_respect_asymmetric_bounds(algo, monkeypatch):
    """Box actions are scaled per dimension from low/high: every stored action lies inside them."""
    module = load_algo(algo)
    seen = []

    class Recording(module.ReplayBuffer):
        def add(self, obs, next_obs, actions, rewards, terminations):
            seen.append(np.array(actions))
            super().add(obs, next_obs, actions, rewards, terminations)

    monkeypatch.setattr(module, "ReplayBuffer", Recording)
    module.main(module.Args(env_id="TestAsymmetricPendulum-v0", **SMOKE[algo], eval_episodes=0))
    actions = np.concatenate(seen)
    assert actions.min() >= 0.5 and actions.max() <= 3.0
    assert actions.min() < 1.0 and actions.max() > 2.5  # the range was explored, not a symmetric guess of it


# ---------------------------------------------------------------- outputs
TAGS = {"charts/episodic_return", "charts/episodic_length", "charts/SPS", "losses/q_values", "eval/episodic_return"}
ALGO_TAGS = {
    "dqn": {"losses/td_loss", "charts/epsilon"},
    "ddpg": {"losses/qf1_loss", "losses/actor_loss"},
    "td3": {"losses/qf1_loss", "losses/qf2_loss", "losses/qf_loss", "losses/actor_loss"},
    "sac": {
        "losses/qf1_loss",
        "losses/qf2_loss",
        "losses/qf_loss",
        "losses/actor_loss",
        "losses/alpha",
        "losses/alpha_loss",
    },
}


@pytest.mark.parametrize("algo", OFF_POLICY)
def test_event_file_holds_documented_tags(algo):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    module = load_algo(algo)
    out = module.main(module.Args(env_id=SMOKE_ENV[algo], eval_episodes=2, **SMOKE[algo]))
    acc = EventAccumulator(f"runs/{out['run_name']}")
    acc.Reload()
    assert TAGS | ALGO_TAGS[algo] <= set(acc.Tags()["scalars"])
    assert len(acc.Scalars("eval/episodic_return")) == 2
    assert len(acc.Scalars("charts/episodic_return")) == out["episodes"]


@pytest.mark.parametrize("algo", OFF_POLICY)
def test_capture_video_writes_mp4(algo):
    module = load_algo(algo)
    out = module.main(module.Args(env_id=SMOKE_ENV[algo], capture_video=True, eval_episodes=1, **SMOKE[algo]))
    videos = glob.glob(f"videos/{out['run_name']}/*.mp4")
    assert videos and os.path.getsize(videos[0]) > 0


@pytest.mark.parametrize("algo", ["td3"])  # the W&B block is one text in every file (test_on_policy.py)
def test_track_offline_and_video(algo, tmp_path):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMOKE[algo].items() if k != "hidden_sizes"]
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ALGOS, f"{algo}.py"),
            "--env-id",
            SMOKE_ENV[algo],
            "--track",
            "--capture-video",
            "--eval-episodes",
            "1",
            "--hidden-sizes",
            "32",
            "32",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_wandb_runs(tmp_path)
    videos = glob.glob(str(tmp_path / "videos" / "*" / "*.mp4"))
    assert videos and os.path.getsize(videos[0]) > 0


# ---------------------------------------------------------------- bad input
COMMON_BAD = [
    (
        dict(env_id="Pendulm-v1"),
        "cannot create Pendulm-v1: NameNotFound: Environment `Pendulm` doesn't exist. Did you mean: `Pendulum`?",
    ),
    (dict(env_id="FrozenLake-v1"), "supports flat Box observations"),
    (dict(total_timesteps=0), "--total-timesteps must be positive"),
    (dict(batch_size=0), "--batch-size must be positive"),
    (dict(buffer_size=-1), "--buffer-size must be positive"),
    (dict(torch_threads=0), "--torch-threads must be positive, got 0"),
    (dict(total_timesteps=100, learning_starts=100), "must exceed --learning-starts"),
    (dict(resume="missing.pt"), "cannot read checkpoint missing.pt: [Errno 2] No such file"),
    (dict(seed=-1), "--seed must be in [0, 2**32), got -1"),
]
ALGO_BAD = {
    "dqn": [
        (dict(env_id="Pendulum-v1"), "dqn.py needs Discrete actions; for Box actions use ddpg.py, td3.py or sac.py"),
        (dict(target_network_frequency=0), "--target-network-frequency must be positive"),
        (dict(train_frequency=0), "--train-frequency must be"),
    ],
    "ddpg": [
        (dict(env_id="CartPole-v1"), "ddpg.py needs 1-d Box actions; for Discrete actions use dqn.py"),
        (dict(policy_frequency=0), "--policy-frequency must be positive"),
    ],
    "td3": [
        (dict(env_id="CartPole-v1"), "td3.py needs 1-d Box actions; for Discrete actions use dqn.py"),
        (dict(q_lr=0.0), "--q-lr must be positive"),
    ],
    "sac": [
        (dict(env_id="CartPole-v1"), "sac.py needs 1-d Box actions; for Discrete actions use dqn.py"),
        (dict(target_network_frequency=0), "--target-network-frequency must be positive"),
    ],
}


@pytest.mark.parametrize(
    "algo,kwargs,message", [(algo, k, m) for algo in OFF_POLICY for k, m in COMMON_BAD + ALGO_BAD[algo]]
)
def test_bad_input_exits_with_message(algo, kwargs, message):
    module = load_algo(algo)
    if "env_id" not in kwargs and "resume" not in kwargs:
        kwargs = {"env_id": SMOKE_ENV[algo], **kwargs}
    with pytest.raises(SystemExit) as exc:
        module.main(module.Args(**kwargs))
    assert message in str(exc.value.code)


@pytest.mark.parametrize("algo", OFF_POLICY)
def test_bad_input_on_command_line_is_one_line_and_nonzero(algo):
    wrong = "Pendulum-v1" if algo == "dqn" else "CartPole-v1"
    proc = subprocess.run(
        [sys.executable, os.path.join(ALGOS, f"{algo}.py"), "--env-id", wrong],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


@pytest.mark.parametrize("algo", OFF_POLICY)
def test_retired_id_maps_to_successor(algo, capsys):
    module = load_algo(algo)
    assert module.resolve_env("LunarLanderContinuous-v2")[0] == "LunarLanderContinuous-v3"
    assert "LunarLanderContinuous-v2 is retired" in capsys.readouterr().out


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("algo", OFF_POLICY)
def test_same_seed_same_results(algo):
    module = load_algo(algo)
    kwargs = dict(env_id=SMOKE_ENV[algo], seed=7, eval_episodes=2, **{**SMOKE[algo], "total_timesteps": 600})
    assert_same_seed_same_results(module, kwargs)


# ---------------------------------------------------------------- structure
@pytest.mark.parametrize("algo", OFF_POLICY)
def test_file_is_standalone_and_within_budget(algo):
    text = algo_source(algo)
    # The design asks for about 400 lines: see test_on_policy.py's twin. The ceilings keep the files from growing.
    assert len(text.splitlines()) <= {"dqn": 443, "ddpg": 461, "td3": 478, "sac": 513}[algo]
    assert max(len(line) for line in text.splitlines()) <= 120
    assert_standalone(text)


def test_common_blocks_match_the_on_policy_template():
    """The common Args fields and help texts, make_env and the plumbing section read as in ppo_clip.py: the one
    block of env ids, input ranges, logs, stop, checkpoints and resume, up to each file's own check_args."""

    def help_lines(text):
        block = text[text.index("class Args:") : text.index("# Algorithm-specific arguments")]
        return [line for line in block.splitlines() if '"""' in line or ":" in line.split("=")[0]]

    def strip_defaults(lines):
        return [line.split("=")[0] for line in lines]

    template = algo_source("ppo_clip")
    env_block = template[template.index("# ---- Environment ----") : template.index("# ---- Networks ----")]
    checkpoint_block = template[template.index("# ---- Plumbing") : template.index("def check_args(")]
    for algo in OFF_POLICY + ["vpg", "a2c", "trpo"]:
        text = algo_source(algo)
        assert strip_defaults(help_lines(text)) == strip_defaults(help_lines(template)), algo
        assert env_block in text and checkpoint_block in text, algo


# ---------------------------------------------------------------- learning
@pytest.mark.parametrize("algo", CONTINUOUS)
def test_learns_pendulum(algo):
    """Pendulum-v1 solved (deterministic evaluation above -200) in 10k steps. Smaller networks with a larger
    learning rate than the defaults keep it short: seed 1 evaluates at about -135 for all three."""
    module = load_algo(algo)
    args = module.Args(
        env_id="Pendulum-v1",
        total_timesteps=10_000,
        learning_starts=1_000,
        hidden_sizes=(64, 64),
        batch_size=128,
        policy_lr=1e-3,
        q_lr=1e-3,
        seed=1,
        eval_episodes=10,
    )
    out = module.main(args)
    assert out["eval_mean_return"] > -200, out["eval_returns"]


def test_dqn_learns_cartpole():
    dqn = load_algo("dqn")
    out = dqn.main(dqn.Args(env_id="CartPole-v1", total_timesteps=40_000, seed=1, eval_episodes=10))  # 500.0
    assert out["eval_mean_return"] >= 150, out["eval_returns"]


# ---------------------------------------------------------------- defects that once slipped through
@pytest.mark.parametrize("algo", CONTINUOUS)
def test_actor_delay_longer_than_the_logging_interval(algo):
    """The losses are logged every 100 critic steps; with a policy delay of 101 the first log comes before
    any actor step, which once raised UnboundLocalError on `actor_loss`."""
    module = load_algo(algo)
    flags = {**SMOKE[algo], "total_timesteps": 250, "policy_frequency": 101}
    out = module.main(module.Args(env_id="Pendulum-v1", eval_episodes=0, **flags))
    assert out["q_updates"] == 150 and out["actor_updates"] >= 1


@pytest.mark.parametrize("algo", CONTINUOUS)
def test_envs_and_warm_up_actions_draw_independent_streams(algo, monkeypatch):
    """Pendulum's reset draws (theta, theta_dot) as two uniforms, the warm-up draws one uniform per action.
    Seeded with one integer, both generators replay one sequence: episode 2 starts where warm-up actions 3
    and 4 point. Every episode start is checked against every pair of consecutive warm-up actions."""
    module = load_algo(algo)
    stored = []

    class Recording(module.ReplayBuffer):
        def add(self, obs, next_obs, actions, rewards, terminations):
            stored.append((np.array(obs[0]), float(actions[0][0])))
            super().add(obs, next_obs, actions, rewards, terminations)

    monkeypatch.setattr(module, "ReplayBuffer", Recording)
    module.main(
        module.Args(
            env_id="Pendulum-v1",
            total_timesteps=601,
            learning_starts=600,
            batch_size=32,
            hidden_sizes=(8,),
            eval_episodes=0,
        )
    )
    action_uniforms = np.array([(a + 2.0) / 4.0 for _, a in stored[:600]])
    pairs = np.stack([action_uniforms[:-1], action_uniforms[1:]], 1)
    for start in (0, 200, 400):  # 200-step episodes
        cos, sin, theta_dot = stored[start][0]
        reset_uniforms = np.array([(np.arctan2(sin, cos) + np.pi) / (2 * np.pi), (theta_dot + 1.0) / 2.0])
        assert np.abs(pairs - reset_uniforms).max(1).min() > 1e-4, f"episode at step {start} replays the actions"

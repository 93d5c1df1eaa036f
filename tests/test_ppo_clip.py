"""PPO-specific maths; the tests shared by all on-policy files are in test_on_policy.py."""

import gymnasium as gym
import pytest
import torch
from conftest import load_algo, reference_log_prob_and_entropy

ppo = load_algo("ppo_clip")


def test_clipped_surrogate_hand_computed():
    """Catches the clip removed, min and max swapped, and a gradient through the clipped branch."""
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
    """Catches an optimistic (min) value clip and a missing factor 1/2."""
    new, old, ret = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]), torch.tensor([2.0, -1.0])
    assert ppo.value_loss(new, old, ret, 0.2, False).item() == pytest.approx(0.5 * (1.0 + 1.0) / 2)
    # clipped prediction of sample 0 is 0.2: error 1.8^2 = 3.24 > 1, so the pessimistic max takes it
    assert ppo.value_loss(new, old, ret, 0.2, True).item() == pytest.approx(0.5 * (3.24 + 1.0) / 2)


def reference_ppo_loss(agent, obs, actions, old_logprobs, advantages, returns, old_values, args):
    """PPO eq. 9 negated, sample by sample with torch.distributions: -min(r A, clip(r) A) + c1 (V - R)^2 / 2 (or the
    max with the clipped V) - c2 H, averaged; advantages normalised over the minibatch first."""
    if args.norm_adv:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    total = 0.0
    for i in range(len(obs)):
        logprob, entropy = reference_log_prob_and_entropy(agent, obs[i], actions[i])
        ratio, value = torch.exp(logprob - old_logprobs[i]), agent.critic(obs[i])[0]
        eps = args.clip_coef
        surrogate = min(ratio * advantages[i], torch.clamp(ratio, 1 - eps, 1 + eps) * advantages[i])
        v_error = (value - returns[i]) ** 2
        if args.clip_vloss:
            clipped = old_values[i] + torch.clamp(value - old_values[i], -eps, eps)
            v_error = max(v_error, (clipped - returns[i]) ** 2)
        total = total - surrogate + args.vf_coef * 0.5 * v_error - args.ent_coef * entropy
    return total / len(obs)


@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,))])
@pytest.mark.parametrize("clip_vloss,norm_adv", [(True, True), (False, False)])
def test_composed_loss_matches_slow_reference(space, clip_vloss, norm_adv):
    """Every term of eq. 9 with a non-zero coefficient: catches a term of the wrong sign, a coefficient on the wrong
    term or missing, and advantages normalised where they should not be (or not where they should)."""
    torch.manual_seed(0)
    agent = ppo.Agent(4, space, (8,))
    obs, n = torch.randn(16, 4), 16
    actions = torch.randint(0, 3, (n,)).float() if agent.discrete else torch.randn(n, 2)
    with torch.no_grad():
        old_logprobs = agent.evaluate_actions(obs, actions)[0] + 0.3 * torch.randn(n)  # ratios inside and outside
    advantages, returns, old_values = torch.randn(n) * 2 + 0.5, torch.randn(n), torch.randn(n)
    args = ppo.Args(clip_coef=0.2, clip_vloss=clip_vloss, norm_adv=norm_adv, vf_coef=0.7, ent_coef=0.05)
    batch = (obs, actions, old_logprobs, advantages, returns, old_values)
    loss, pg_loss, v_loss, entropy_loss, _ = ppo.ppo_loss(agent, *batch, args)
    torch.testing.assert_close(loss, reference_ppo_loss(agent, *batch, args))
    torch.testing.assert_close(loss, pg_loss + 0.7 * v_loss - 0.05 * entropy_loss)


def test_main_takes_its_steps_on_the_composed_loss(monkeypatch):
    """The training loop steps on ppo_loss's loss, once per minibatch: a loss composed inline instead is caught."""
    calls, ppo_loss = [], ppo.ppo_loss
    monkeypatch.setattr(ppo, "ppo_loss", lambda *a: calls.append(1) or ppo_loss(*a))
    flags = dict(num_envs=2, num_steps=64, num_minibatches=4, update_epochs=2, eval_episodes=0)
    out = ppo.main(ppo.Args(env_id="CartPole-v1", total_timesteps=256, **flags))
    assert len(calls) == out["updates"] == 2 * 2 * 4

"""A2C's composed loss; the tests shared by all on-policy files are in test_on_policy.py."""

import gymnasium as gym
import pytest
import torch
from conftest import load_algo, reference_log_prob_and_entropy

a2c = load_algo("a2c")


def reference_a2c_loss(agent, obs, actions, advantages, returns, args):
    """A3C's Algorithm S3 as one loss, sample by sample with torch.distributions: the policy gradient term
    -log pi(a|s) A, vf_coef (R - V(s))^2 and -ent_coef H(pi(.|s)), averaged over the batch."""
    total = 0.0
    for i in range(len(obs)):
        logprob, entropy = reference_log_prob_and_entropy(agent, obs[i], actions[i])
        value = agent.critic(obs[i])[0]
        total = total - logprob * advantages[i] + args.vf_coef * (returns[i] - value) ** 2 - args.ent_coef * entropy
    return total / len(obs)


@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,))])
def test_composed_loss_matches_slow_reference(space):
    """Every term with a non-zero coefficient: catches a term of the wrong sign and a coefficient misplaced or lost."""
    torch.manual_seed(0)
    agent, n = a2c.Agent(4, space, (8,)), 12
    obs = torch.randn(n, 4)
    actions = torch.randint(0, 3, (n,)).float() if agent.discrete else torch.randn(n, 2)
    advantages, returns = torch.randn(n), torch.randn(n)
    args = a2c.Args(vf_coef=0.7, ent_coef=0.05)
    loss, pg_loss, v_loss, entropy_loss = a2c.a2c_loss(agent, obs, actions, advantages, returns, args)
    torch.testing.assert_close(loss, reference_a2c_loss(agent, obs, actions, advantages, returns, args))
    torch.testing.assert_close(loss, pg_loss + 0.7 * v_loss - 0.05 * entropy_loss)


def test_main_takes_its_steps_on_the_composed_loss(monkeypatch):
    """The training loop steps on a2c_loss's loss, once per batch: a loss composed inline instead is caught."""
    calls, a2c_loss = [], a2c.a2c_loss
    monkeypatch.setattr(a2c, "a2c_loss", lambda *a: calls.append(1) or a2c_loss(*a))
    out = a2c.main(a2c.Args(env_id="CartPole-v1", total_timesteps=160, num_envs=2, num_steps=8, eval_episodes=0))
    assert len(calls) == out["updates"] == 10

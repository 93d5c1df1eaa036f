"""A2C-specific maths: n-step bootstrapped returns (GAE with lambda = 1) and the optimiser."""
import torch
from conftest import load_algo
from test_on_policy import gae_inputs, reference_reward_to_go

a2c = load_algo("a2c")


def test_n_step_returns_match_slow_reference():
    rewards, values, terms, truncs, final_values, next_value = gae_inputs()
    advantages, returns = a2c.compute_gae(rewards, values, terms, truncs, final_values, next_value, 0.99, 1.0)
    # A3C's n-step return: rewards to the end of the rollout or of the episode, then gamma^k V(next obs)
    # at the rollout's end or gamma^k V(final obs) after a truncation: the rollout's reward-to-go.
    expected = torch.tensor(reference_reward_to_go(rewards.tolist(), terms.tolist(), truncs.tolist(),
                                                   final_values.tolist(), next_value.tolist(), 0.99))
    torch.testing.assert_close(returns, expected)
    torch.testing.assert_close(advantages, expected - values)


def test_one_rmsprop_step_per_rollout():
    out = a2c.main(a2c.Args(env_id="CartPole-v1", total_timesteps=800, eval_episodes=0))
    assert out["iterations"] == 10 and out["updates"] == 10 and out["global_step"] == 800

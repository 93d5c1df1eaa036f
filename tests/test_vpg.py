"""VPG-specific maths: the reward-to-go the value function is fitted to."""
import torch
from conftest import load_algo
from test_on_policy import gae_inputs, reference_reward_to_go

vpg = load_algo("vpg")


def test_reward_to_go_matches_slow_reference():
    rewards, _, terms, truncs, final_values, next_value = gae_inputs()
    got = vpg.compute_returns(rewards, terms, truncs, final_values, next_value, 0.97)
    expected = reference_reward_to_go(rewards.tolist(), terms.tolist(), truncs.tolist(), final_values.tolist(),
                                      next_value.tolist(), 0.97)
    torch.testing.assert_close(got, torch.tensor(expected))


def test_policy_lr_default_depends_on_action_space():
    assert vpg.main(vpg.Args(env_id="CartPole-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-3
    assert vpg.main(vpg.Args(env_id="Pendulum-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-4

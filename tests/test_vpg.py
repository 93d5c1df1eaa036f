"""VPG-specific maths: the reward-to-go the value function is fitted to."""
import torch
from conftest import load_algo
from test_on_policy import gae_inputs

vpg = load_algo("vpg")


def reference_reward_to_go(rewards, terms, truncs, final_values, next_value, gamma):
    """Slow, obvious: for every (t, env) the discounted sum forward to the episode's end, plus the
    bootstrap gamma^k V(final obs) after a truncation or gamma^k V(next obs) at the batch's end."""
    T, N = len(rewards), len(rewards[0])
    out = [[0.0] * N for _ in range(T)]
    for n in range(N):
        for t in range(T):
            total = 0.0
            for k in range(t, T):
                total += gamma ** (k - t) * rewards[k][n]
                if terms[k][n]:
                    break
                if truncs[k][n]:
                    total += gamma ** (k - t + 1) * final_values[k][n]
                    break
                if k == T - 1:
                    total += gamma ** (k - t + 1) * next_value[n]
            out[t][n] = total
    return out


def test_reward_to_go_matches_slow_reference():
    rewards, _, terms, truncs, final_values, next_value = gae_inputs()
    got = vpg.compute_returns(rewards, terms, truncs, final_values, next_value, 0.97)
    expected = reference_reward_to_go(rewards.tolist(), terms.tolist(), truncs.tolist(), final_values.tolist(),
                                      next_value.tolist(), 0.97)
    torch.testing.assert_close(got, torch.tensor(expected))


def test_policy_lr_default_depends_on_action_space():
    assert vpg.main(vpg.Args(env_id="CartPole-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-3
    assert vpg.main(vpg.Args(env_id="Pendulum-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-4

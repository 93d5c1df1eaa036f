"""VPG-specific checks: the policy learning-rate default per action space (its reward-to-go targets
are tested with the shared GAE tests, lambda = 1)."""
from conftest import load_algo

vpg = load_algo("vpg")


def test_policy_lr_default_depends_on_action_space():
    assert vpg.main(vpg.Args(env_id="CartPole-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-3
    assert vpg.main(vpg.Args(env_id="Pendulum-v1", total_timesteps=4000, eval_episodes=0))["args"].policy_lr == 3e-4

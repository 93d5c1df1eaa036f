"""A2C-specific checks: one optimiser step per rollout (its n-step returns are tested with the shared
GAE tests, lambda = 1)."""
from conftest import load_algo

a2c = load_algo("a2c")


def test_one_rmsprop_step_per_rollout():
    out = a2c.main(a2c.Args(env_id="CartPole-v1", total_timesteps=800, eval_episodes=0))
    assert out["iterations"] == 10 and out["updates"] == 10 and out["global_step"] == 800

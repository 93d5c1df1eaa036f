"""TRPO-specific maths: conjugate gradient, Fisher-vector products, the step size, the surrogate, the
line search and the value target."""

import math

import gymnasium as gym
import pytest
import torch
import torch.nn as nn
from conftest import load_algo
from torch.distributions import Categorical, Normal
from torch.func import functional_call

trpo = load_algo("trpo")


def test_conjugate_gradient_solves_random_spd_system():
    """Catches a wrong step length or residual update in conjugate gradient."""
    g = torch.Generator().manual_seed(0)
    m = torch.randn(12, 12, generator=g, dtype=torch.float64)
    a = m @ m.T + 0.5 * torch.eye(12, dtype=torch.float64)
    b = torch.randn(12, generator=g, dtype=torch.float64)
    x = trpo.conjugate_gradient(lambda v: a @ v, b, iters=50, residual_tol=1e-20)
    torch.testing.assert_close(x, torch.linalg.solve(a, b))


def explicit_mean_kl(old_dist, new_dist, discrete):
    """Mean over states of KL(old || new) by torch.distributions, from the parameters Agent.distribution
    returns: logits of a categorical, or the mean and log-std of a diagonal Gaussian."""

    def torch_distribution(params):
        return Categorical(logits=params) if discrete else Normal(params[0], params[1].exp())

    kl = torch.distributions.kl_divergence(torch_distribution(old_dist), torch_distribution(new_dist))
    return (kl if discrete else kl.sum(-1)).mean()


class DistributionOf(nn.Module):
    """Makes agent.distribution the forward pass, so torch.func.functional_call can swap parameters."""

    def __init__(self, agent):
        super().__init__()
        self.agent = agent

    def forward(self, x):
        return self.agent.distribution(x)


def explicit_kl_hessian(agent, obs):
    """Hessian of torch's mean KL(old || new) w.r.t. the flat policy parameters, by autograd."""
    named = [(f"agent.{n}", p) for n, p in agent.named_parameters() if not n.startswith("critic.")]
    flat0 = nn.utils.parameters_to_vector([p for _, p in named]).detach()
    with torch.no_grad():
        old_dist = agent.distribution(obs)

    def kl_of(flat):
        chunks, i = {}, 0
        for name, p in named:
            chunks[name] = flat[i : i + p.numel()].view(p.shape)
            i += p.numel()
        new_dist = functional_call(DistributionOf(agent), chunks, (obs,), strict=False)
        return explicit_mean_kl(old_dist, new_dist, agent.discrete)

    return torch.autograd.functional.hessian(kl_of, flat0)


def sharp_agent(space, seed=0):
    """An agent whose policy depends visibly on its weights (the 0.01 head init undone)."""
    torch.manual_seed(seed)
    agent = trpo.Agent(3, space, (5,)).double()
    head = agent.actor[-1] if agent.discrete else agent.actor_mean[-1]
    with torch.no_grad():
        head.weight.mul_(100.0)
        if not agent.discrete:
            agent.actor_logstd.copy_(torch.tensor([[0.3, -0.4]]))
    return agent, [p for n, p in agent.named_parameters() if not n.startswith("critic.")]


SPACES = [gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,))]


@pytest.mark.parametrize("space", SPACES)
def test_mean_kl_matches_torch_kl(space):
    """Catches a KL averaged over action dimensions instead of summed, or taken in the wrong direction."""
    agent, _ = sharp_agent(space)
    obs = torch.randn(7, 3, dtype=torch.float64)
    old_dist = agent.distribution(obs)
    agent_b, _ = sharp_agent(space, seed=1)
    if not agent_b.discrete:  # unequal stds: with equal ones the Gaussian KL is symmetric
        agent_b.actor_logstd.data += torch.tensor([[0.5, -0.2]], dtype=torch.float64)
    new_dist = agent_b.distribution(obs)
    expected = explicit_mean_kl(old_dist, new_dist, agent.discrete)
    assert expected.item() > 1e-2
    torch.testing.assert_close(trpo.mean_kl(old_dist, new_dist, agent.discrete), expected)


@pytest.mark.parametrize("space", SPACES)
def test_fisher_vector_product_equals_explicit_hessian(space):
    """The reference Hessian comes from torch's KL, not from trpo.mean_kl, so a wrong KL or a
    wrong second derivative in the product both show."""
    agent, params = sharp_agent(space)
    obs = torch.randn(7, 3, dtype=torch.float64)
    hessian = explicit_kl_hessian(agent, obs)
    assert hessian.abs().max() > 1e-2  # the comparison is not between two zeros
    v = torch.randn(hessian.shape[0], dtype=torch.float64)
    fvp = trpo.fisher_vector_product(agent, params, obs, v, damping=0.1)
    torch.testing.assert_close(fvp, hessian @ v + 0.1 * v)


def test_natural_gradient_step_reaches_max_kl():
    """trpo.natural_gradient_step (the function main calls) returns F^-1 g scaled so the quadratic KL model
    0.5 s^T F s is max_kl; the KL measured after the step is close to it. Catches a missing square root, a
    factor of two, or a step along g instead of F^-1 g."""
    agent, params = sharp_agent(gym.spaces.Discrete(3), seed=1)
    obs, actions, adv = torch.randn(64, 3, dtype=torch.float64), torch.randint(0, 3, (64,)), torch.randn(64)
    logprob, _, _ = agent.evaluate_actions(obs, actions)
    g = trpo.flat_grad((logprob * adv.double()).mean(), params)
    hessian = explicit_kl_hessian(agent, obs) + 1e-3 * torch.eye(len(g), dtype=torch.float64)
    fvp = lambda v: trpo.fisher_vector_product(agent, params, obs, v, 1e-3)  # noqa: E731
    step = trpo.natural_gradient_step(fvp, g, max_kl=0.01, cg_iters=len(g))
    assert (0.5 * step @ hessian @ step).item() == pytest.approx(0.01, rel=1e-4)
    direction = torch.linalg.solve(hessian, g)
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(step, direction, 0) > 0.999  # conjugate gradient converges to F^-1 g
    assert cosine(g, direction, 0) < 0.9  # and the plain gradient points elsewhere
    with torch.no_grad():
        old_dist = agent.distribution(obs)
        nn.utils.vector_to_parameters(nn.utils.parameters_to_vector(params) + step, params)
        measured = explicit_mean_kl(old_dist, agent.distribution(obs), True).item()
    assert 0.005 < measured < 0.02  # second-order model: right to within its higher-order terms


def test_line_search_rejects_steps_that_break_the_kl_bound():
    """Catches a line search that ignores the KL bound or accepts a worse surrogate."""
    old, step = torch.zeros(1), torch.ones(1)

    def improving(p):  # the loss improves along the step, the KL grows quadratically: 0.5 * (0.8^i)^2
        return -p[0].item(), 0.5 * p[0].item() ** 2

    # 0.5 * 0.64^i <= 0.01 first at i = 9 (0.0090); i = 8 gives 0.0141
    params, i = trpo.line_search(improving, old, step, max_kl=0.01, backtrack_iters=10, backtrack_coeff=0.8)
    assert i == 9 and params.item() == pytest.approx(0.8**9)
    params, i = trpo.line_search(improving, old, step, max_kl=0.01, backtrack_iters=9, backtrack_coeff=0.8)
    assert params is None and i == 9  # every step tried breaks the bound: the policy stays

    def worsening(p):  # inside the trust region but the surrogate gets worse: also rejected
        return p[0].item(), 0.0

    params, _ = trpo.line_search(worsening, old, step, max_kl=0.01, backtrack_iters=10, backtrack_coeff=0.8)
    assert params is None


def test_surrogate_loss_matches_plain_reference():
    """Catches the ratio taken the wrong way round and an entropy bonus of the wrong sign."""
    g = torch.Generator().manual_seed(3)
    logprob, old_logprob, adv, entropy = (torch.randn(6, generator=g, dtype=torch.float64) for _ in range(4))
    n = len(adv)
    surrogate = sum(math.exp(logprob[i] - old_logprob[i]) * float(adv[i]) for i in range(n)) / n
    bonus = sum(float(h) for h in entropy) / n
    for ent_coef in (0.0, 0.05):
        loss = trpo.surrogate_loss(logprob, old_logprob, adv, entropy, ent_coef).item()
        assert loss == pytest.approx(-surrogate - ent_coef * bonus, rel=1e-12)


def test_entropy_bonus_reaches_the_update():
    """Same seed and data, a large bonus: the update must widen the Gaussian policy (the entropy's gradient
    is 1 in every log-std) more than the plain surrogate does, so the bonus enters the natural gradient and
    the line search, not only the logged loss."""
    log_stds = []
    for ent_coef in (0.0, 1.0):
        out = trpo.main(
            trpo.Args(
                env_id="Pendulum-v1",
                num_envs=1,
                num_steps=256,
                total_timesteps=512,
                vf_iters=1,
                eval_episodes=0,
                ent_coef=ent_coef,
            )
        )
        assert out["updates"] >= 1
        state = torch.load(f"runs/{out['run_name']}/trpo.pt", weights_only=True)
        log_stds.append(state["agent"]["actor_logstd"].mean().item())
    assert log_stds[1] > log_stds[0] + 0.01


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # the states need no gradient here
def test_value_target_is_the_lambda_returns(monkeypatch):
    """The critic regresses on the GAE(lambda) returns of the batch, not on the reward-to-go (lambda = 1).
    The target is read back from the value step itself: for the loss mean((V - y)^2) over N states the
    gradient reaching the critic's output is 2 (V - y) / N, so y = V - N/2 * dLoss/dV."""
    returns, targets = [], []
    real_gae = trpo.compute_gae

    def spy_gae(*args):
        advantages, lambda_returns = real_gae(*args)
        returns.append(torch.as_tensor(lambda_returns).reshape(-1))
        return advantages, lambda_returns

    real_init = trpo.Agent.__init__

    def init_with_hooks(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        last = {}
        self.critic.register_forward_hook(lambda module, inputs, output: last.update(v=output.detach()))
        self.critic.register_full_backward_hook(
            lambda module, grad_in, grad_out: targets.append(
                (last["v"] - grad_out[0] * grad_out[0].numel() / 2).squeeze(-1)
            )
        )

    monkeypatch.setattr(trpo, "compute_gae", spy_gae)
    monkeypatch.setattr(trpo.Agent, "__init__", init_with_hooks)
    trpo.main(
        trpo.Args(
            env_id="CartPole-v1",
            num_envs=2,
            num_steps=64,
            total_timesteps=128,
            vf_iters=3,
            gae_lambda=0.5,
            eval_episodes=0,
        )
    )
    assert len(targets) == 3  # one backward pass through the critic per value step, none from the policy step
    for target in targets:
        assert target == pytest.approx(returns[0], abs=1e-4)

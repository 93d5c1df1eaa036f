"""PPO-specific maths; the tests shared by all on-policy files are in test_on_policy.py."""

import pytest
import torch
from conftest import load_algo

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

"""``eval_mode``: inference mode for a block, every module's own mode restored afterwards."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganapps.core.devices import eval_mode


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 1)))


def _modes(*nets: nn.Module) -> list[bool]:
    return [m.training for net in nets for m in net.modules()]


def test_eval_mode_switches_to_eval_and_no_grad_then_restores() -> None:
    net = _net()
    with eval_mode(net):
        assert not any(_modes(net)) and not torch.is_grad_enabled()
        y = net(torch.randn(3, 2))
    assert all(_modes(net)) and torch.is_grad_enabled() and not y.requires_grad


def test_an_exception_inside_leaves_every_module_in_its_previous_mode() -> None:
    a, b = _net(), _net()
    a[1].eval()  # mixed modes: a frozen batch norm inside a training network
    b.eval()
    b[2].train()  # and a training block inside an eval network
    before = _modes(a, b)
    with pytest.raises(RuntimeError, match="boom"), eval_mode(a, b):
        assert not any(_modes(a, b))
        raise RuntimeError("boom")
    assert _modes(a, b) == before and torch.is_grad_enabled()


def test_nested_and_repeated_modules_are_restored() -> None:
    net = _net()
    net[2].eval()
    before = _modes(net)
    with eval_mode(net, net[2]), eval_mode(net[1]):
        pass
    assert _modes(net) == before

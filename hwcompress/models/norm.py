"""A scalar batch norm for the logits (bnn_pynq's TensorNorm): FINN folds it into one Mul and one Add."""

from __future__ import annotations

import torch
from torch import nn


class ScalarNorm(nn.Module):
    """Normalizes a whole tensor with one running mean and variance and a learned scalar affine."""

    def __init__(self, eps: float = 1e-4, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("running_mean", torch.zeros(1))
        self.register_buffer("running_var", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean, var = x.mean(), x.var(unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean.reshape(1), self.momentum)
                self.running_var.lerp_(x.var(unbiased=True).reshape(1), self.momentum)
            return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias
        return (x - self.running_mean) / (self.running_var + self.eps).sqrt() * self.weight + self.bias

"""Analytic FLOP counts of convolutions and linear layers, for achieved-GFLOP/s figures.

Convention: one multiply-add is 2 FLOPs; biases, activations, normalisation and pooling
are not counted (they are memory-bound and small next to the products). A training step
costs about 3x the forward pass: the backward pass computes one product for the input
gradient and one for the weight gradient, each as large as the forward one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

TRAIN_FACTOR = 3


@dataclass
class FlopCount:
    forward: int = 0  # FLOPs of one forward pass over the example batch
    layers: list[tuple[str, int]] = field(default_factory=list)  # (module name, FLOPs)

    @property
    def train_step(self) -> int:
        return TRAIN_FACTOR * self.forward


def layer_flops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """Forward FLOPs of one Linear / Conv / ConvTranspose call (0 for other modules)."""
    if isinstance(module, nn.Linear):
        return 2 * module.in_features * output.numel()
    if isinstance(module, nn.modules.conv._ConvNd) and not module.transposed:
        per_output = (module.in_channels // module.groups) * _prod(module.kernel_size)
        return 2 * per_output * output.numel()
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        per_input = (module.out_channels // module.groups) * _prod(module.kernel_size)
        return 2 * per_input * inputs.numel()
    return 0


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def count_flops(model: nn.Module, *example: torch.Tensor) -> FlopCount:
    """Run ``model(*example)`` once without gradients, counting every conv/linear call."""
    count = FlopCount()
    names = {module: name for name, module in model.named_modules()}

    def hook(module, inputs, output):
        flops = layer_flops(module, inputs[0], output)
        if flops:
            count.forward += flops
            count.layers.append((names.get(module, type(module).__name__), flops))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*example)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return count

#!/usr/bin/python3
"""Writes tests/nn/testdata/module_fixtures.json: PyTorch's nn modules and CIFAR ResNets on fixed inputs.

- "layers": one case per module configuration. Each case gives the module and its options, the state
  dict it starts from (float64), and steps run in order, each in training or eval mode: the input, the
  output, the state dict after the step, and for the first step the gradients of sum(output * grad_output)
  with respect to the input and every parameter.
- "resnets": for each CIFAR ResNet, its state dict keys and shapes in PyTorch's order and its parameter
  count; for some, eval-mode and training-mode logits of a float32 model whose state dict is filled by the
  deterministic `pattern` below (so the file holds no weights), and buffers after the training step.

pattern(n, seed)[i] = ((i * 7919 + seed * 104729) mod 2001 - 1000) / 1000, exact in float64 in any language;
a state dict entry with sorted-key index k is filled from pattern(numel, k) as StateValue says.

The ResNets are those of tools/cifar_resnet_torch.py.
Run with Debian's python3-torch: /usr/bin/python3 tools/make_module_fixtures.py
"""
import json
import pathlib

import torch
import torch.nn as nn

from cifar_resnet_torch import cifar_resnet

torch.manual_seed(0)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/nn/testdata/module_fixtures.json"


# ---- the deterministic fill shared with the C++ test

def pattern(n, seed):
    i = torch.arange(n, dtype=torch.int64)
    return ((i * 7919 + seed * 104729) % 2001 - 1000).to(torch.float64) / 1000.0


def state_value(key, shape, dtype, k):
    """The value of state dict entry `key` (k-th in sorted order)."""
    n = 1
    for s in shape:
        n *= s
    u = pattern(n, k)
    if key.endswith("num_batches_tracked"):
        return torch.full(shape, k, dtype=torch.int64)
    if len(shape) >= 2:  # conv / linear weight: He-uniform scale
        fan_in = n // shape[0]
        v = u * (6.0 / fan_in) ** 0.5
    elif key.endswith("running_var"):
        v = 1.0 + 0.5 * u
    elif key.endswith("running_mean"):
        v = 0.2 * u
    elif key.endswith("weight"):
        v = 1.0 + 0.2 * u
    else:  # bias
        v = 0.1 * u
    return v.reshape(shape).to(dtype)


def fill_state(model):
    state = model.state_dict()
    for k, key in enumerate(sorted(state)):
        state[key].copy_(state_value(key, list(state[key].shape), state[key].dtype, k))


def t(x):
    return {"shape": list(x.shape), "dtype": str(x.dtype).replace("torch.", ""), "data": x.detach().flatten().tolist()}


def resnet_case(depth, option, logits):
    model = cifar_resnet(depth, option)
    state = model.state_dict()
    case = {
        "depth": depth,
        "shortcut": option,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "keys": [[k, list(v.shape)] for k, v in state.items()],
    }
    if logits:
        fill_state(model)
        x = pattern(2 * 3 * 32 * 32, 12345).reshape(2, 3, 32, 32).float()
        model.eval()
        with torch.no_grad():
            case["eval_logits"] = t(model(x))
            model.train()
            case["train_logits"] = t(model(x))
        after = model.state_dict()
        case["buffers_after_train"] = {k: t(after[k]) for k in after if k.startswith(("bn1.", "layer3.1.bn2.")) and
                                       not k.endswith(("weight", "bias"))}
    return case


# ---- single layers, in float64

def layer_case(name, module_name, options, make, inputs, modes, start_state=None):
    torch.manual_seed(len(name))
    m = make().double()
    if start_state:
        sd = m.state_dict()
        for k, v in start_state.items():
            sd[k].copy_(v)
    case = {"name": name, "module": module_name, "options": options,
            "state": {k: t(v) for k, v in m.state_dict().items()}, "steps": []}
    for i, (x, train) in enumerate(zip(inputs, modes)):
        m.train(train)
        x = x.double().requires_grad_()
        y = m(x)
        step = {"train": train, "input": t(x), "output": t(y)}
        if i == 0:
            g = torch.randn_like(y)
            m.zero_grad()
            y.backward(g)
            step["grad_output"] = t(g)
            step["input_grad"] = t(x.grad)
            step["param_grads"] = {k: t(p.grad) for k, p in m.named_parameters()}
        step["state_after"] = {k: t(v) for k, v in m.state_dict().items()}
        case["steps"].append(step)
    return case


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64) * 2 + 0.5


def affine_state(c, track=True, tracked=0):
    s = {"weight": 1 + 0.3 * torch.randn(c, dtype=torch.float64), "bias": 0.2 * torch.randn(c, dtype=torch.float64)}
    if track:
        s.update({"running_mean": 0.1 * torch.randn(c, dtype=torch.float64),
                  "running_var": 1 + 0.2 * torch.rand(c, dtype=torch.float64),
                  "num_batches_tracked": torch.tensor(tracked)})
    return s


TEE = [True, True, False]  # two training steps, then eval
layers = [
    layer_case("batch_norm1d_2d_input", "BatchNorm1d", {"num_features": 3},
               lambda: nn.BatchNorm1d(3), [randn(4, 3) for _ in TEE], TEE, affine_state(3)),
    layer_case("batch_norm1d_3d_input_cumulative", "BatchNorm1d", {"num_features": 3, "momentum": None},
               lambda: nn.BatchNorm1d(3, momentum=None), [randn(4, 3, 5) for _ in range(4)], [True] * 3 + [False]),
    layer_case("batch_norm2d", "BatchNorm2d", {"num_features": 3, "momentum": 0.3, "eps": 1e-3},
               lambda: nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), [randn(4, 3, 2, 2) for _ in TEE], TEE,
               affine_state(3)),
    layer_case("batch_norm2d_cumulative_from_saved_count", "BatchNorm2d", {"num_features": 2, "momentum": None},
               lambda: nn.BatchNorm2d(2, momentum=None), [randn(3, 2, 3, 3) for _ in TEE], TEE,
               affine_state(2, tracked=2)),
    layer_case("batch_norm2d_no_affine_no_stats", "BatchNorm2d",
               {"num_features": 3, "affine": False, "track_running_stats": False},
               lambda: nn.BatchNorm2d(3, affine=False, track_running_stats=False), [randn(2, 3, 3, 3) for _ in TEE], TEE),
    layer_case("batch_norm3d", "BatchNorm3d", {"num_features": 2},
               lambda: nn.BatchNorm3d(2), [randn(2, 2, 2, 3, 2) for _ in TEE], TEE, affine_state(2)),
    layer_case("instance_norm1d_affine_tracking", "InstanceNorm1d",
               {"num_features": 3, "affine": True, "track_running_stats": True},
               lambda: nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
               [randn(2, 3, 6), randn(3, 6), randn(2, 3, 6)], TEE, affine_state(3)),
    layer_case("instance_norm2d", "InstanceNorm2d", {"num_features": 3},
               lambda: nn.InstanceNorm2d(3), [randn(2, 3, 4, 4), randn(3, 4, 4)], [True, False]),
    layer_case("instance_norm3d_tracking", "InstanceNorm3d",
               {"num_features": 2, "track_running_stats": True, "momentum": 0.2},
               lambda: nn.InstanceNorm3d(2, track_running_stats=True, momentum=0.2),
               [randn(2, 2, 3, 3, 2) for _ in TEE], TEE),
    layer_case("layer_norm", "LayerNorm", {"normalized_shape": [4, 5], "eps": 1e-4},
               lambda: nn.LayerNorm([4, 5], eps=1e-4), [randn(2, 3, 4, 5)], [True],
               {"weight": 1 + 0.3 * torch.randn(4, 5, dtype=torch.float64),
                "bias": 0.2 * torch.randn(4, 5, dtype=torch.float64)}),
    layer_case("group_norm", "GroupNorm", {"num_groups": 2, "num_channels": 4},
               lambda: nn.GroupNorm(2, 4), [randn(2, 4, 3, 3)], [True],
               {"weight": 1 + 0.3 * torch.randn(4, dtype=torch.float64),
                "bias": 0.2 * torch.randn(4, dtype=torch.float64)}),
    layer_case("conv2d_grouped_strided", "Conv2d",
               {"in_channels": 4, "out_channels": 6, "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1],
                "groups": 2},
               lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), [randn(2, 4, 7, 7)], [True]),
    layer_case("conv2d_dilated_no_bias", "Conv2d",
               {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 2], "dilation": [2, 1], "bias": False},
               lambda: nn.Conv2d(3, 4, (3, 2), dilation=(2, 1), bias=False), [randn(2, 3, 8, 6)], [True]),
    layer_case("linear", "Linear", {"in_features": 5, "out_features": 3},
               lambda: nn.Linear(5, 3), [randn(4, 5)], [True]),
    layer_case("max_pool2d", "MaxPool2d", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]},
               lambda: nn.MaxPool2d(3, 2, 1), [randn(2, 3, 7, 7)], [True]),
    layer_case("avg_pool2d", "AvgPool2d", {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]},
               lambda: nn.AvgPool2d(3, 2, 1), [randn(2, 3, 7, 7)], [True]),
    layer_case("adaptive_avg_pool2d", "AdaptiveAvgPool2d", {"output_size": [2, 3]},
               lambda: nn.AdaptiveAvgPool2d((2, 3)), [randn(2, 3, 5, 7)], [True]),
    layer_case("relu", "ReLU", {}, lambda: nn.ReLU(), [randn(2, 3, 4)], [True]),
    layer_case("flatten", "Flatten", {}, lambda: nn.Flatten(), [randn(2, 3, 4)], [True]),
    layer_case("conv2d_same_reflect", "Conv2d",
               {"in_channels": 3, "out_channels": 4, "kernel_size": [4, 3], "dilation": [1, 2], "padding": "same",
                "padding_mode": "reflect"},
               lambda: nn.Conv2d(3, 4, (4, 3), dilation=(1, 2), padding="same", padding_mode="reflect"),
               [randn(2, 3, 6, 7)], [True]),
    layer_case("conv2d_replicate", "Conv2d",
               {"in_channels": 2, "out_channels": 3, "kernel_size": [3, 3], "padding": [2, 1],
                "padding_mode": "replicate"},
               lambda: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="replicate"), [randn(2, 2, 5, 4)], [True]),
    layer_case("conv2d_circular_strided", "Conv2d",
               {"in_channels": 2, "out_channels": 4, "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1],
                "padding_mode": "circular", "bias": False},
               lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1, padding_mode="circular", bias=False),
               [randn(2, 2, 5, 6)], [True]),
    layer_case("conv2d_same_even_kernel", "Conv2d",
               {"in_channels": 2, "out_channels": 2, "kernel_size": [2, 2], "padding": "same"},
               lambda: nn.Conv2d(2, 2, 2, padding="same"), [randn(1, 2, 5, 4)], [True]),
    layer_case("conv_transpose2d", "ConvTranspose2d",
               {"in_channels": 4, "out_channels": 6, "kernel_size": [3, 2], "stride": [2, 2], "padding": [1, 0],
                "output_padding": [1, 0], "groups": 2},
               lambda: nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=(1, 0), output_padding=(1, 0), groups=2),
               [randn(2, 4, 3, 4)], [True]),
]

resnets = {
    "resnet20_A": resnet_case(20, "A", logits=True),
    "resnet20_B": resnet_case(20, "B", logits=True),
    "resnet18": resnet_case(18, "B", logits=False),
}
for depth in (32, 44, 56, 110):
    resnets[f"resnet{depth}_A"] = {"depth": depth, "shortcut": "A",
                                   "num_parameters": sum(p.numel() for p in cifar_resnet(depth).parameters())}

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({"layers": layers, "resnets": resnets}, separators=(",", ":")) + "\n")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
for name, r in resnets.items():
    print(f"{name}: {r['num_parameters']:,} parameters")

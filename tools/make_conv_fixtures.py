#!/usr/bin/python3
"""Writes tests/nn/testdata/{conv,conv_transpose,pooling,loss,activation,padding}.json: PyTorch's results
for conv2d and conv_transpose2d (strided, padded, dilated, grouped), the 2-d poolings, softmax / log-softmax and the losses (with label
smoothing and class weights; the regression and binary losses), the activations and F.pad in its four modes, each with the gradients of a random projection of
the output, in float32 and float64.

Inputs are drawn in float32 and stored once, so that both dtypes start from exactly the same values;
float32 results are stored to 9 significant digits (enough to round-trip), float64 ones to 12 (the tests
compare float64 to 1e-10).
Run with /usr/bin/python3 (Debian's python3-torch) from the repository root."""

import json

import torch
import torch.nn.functional as F

OUT = "tests/nn/testdata"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def values(t):
    digits = 9 if t.dtype == torch.float32 else 12
    return [float(f"{v:.{digits}g}") for v in t.detach().flatten().tolist()]


def draw(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def grads(fn, inputs, dtype, gen_dy, constants=()):
    """Runs fn on the inputs converted to dtype; returns (output, {name: d<dy, output>/d input}, dy). The
    inputs named in `constants` (and integer ones) are converted but not differentiated."""
    leaves = {name: t.to(dtype) if t.dtype.is_floating_point else t for name, t in inputs.items()}
    leaves = {name: t.requires_grad_() if t.dtype.is_floating_point and name not in constants else t
              for name, t in leaves.items()}
    out = fn(**leaves)
    dy = gen_dy(out.shape).to(dtype)
    needs = [name for name, t in leaves.items() if t.requires_grad]
    got = torch.autograd.grad(out, [leaves[n] for n in needs], dy)
    return out, dict(zip(needs, got)), dy


CONV_CASES = [
    # name, x shape, w shape, bias, stride, padding, dilation, groups
    ("basic_3x3_pad1", [2, 2, 5, 5], [3, 2, 3, 3], True, [1, 1], [1, 1], [1, 1], 1),
    ("stride2", [1, 3, 7, 6], [2, 3, 3, 3], True, [2, 2], [1, 1], [1, 1], 1),
    ("rect_asymmetric", [1, 2, 5, 7], [2, 2, 2, 4], True, [2, 1], [0, 2], [1, 1], 1),
    ("dilated", [1, 2, 7, 6], [2, 2, 3, 3], False, [1, 1], [2, 2], [2, 2], 1),
    ("strided_dilated", [1, 2, 9, 8], [2, 2, 3, 2], True, [3, 2], [1, 0], [2, 3], 1),
    ("grouped", [1, 4, 5, 5], [4, 2, 3, 3], True, [1, 1], [1, 1], [1, 1], 2),
    ("depthwise", [1, 3, 6, 5], [6, 1, 3, 3], False, [2, 1], [1, 1], [1, 1], 3),
    ("pointwise_stride2", [2, 3, 6, 6], [4, 3, 1, 1], False, [2, 2], [0, 0], [1, 1], 1),
    ("kernel_fills_padded", [1, 2, 3, 4], [2, 2, 5, 6], True, [1, 1], [1, 1], [1, 1], 1),
]


def conv_fixtures(gen):
    cases = []
    for name, xs, ws, bias, stride, padding, dilation, groups in CONV_CASES:
        inputs = {"x": draw(gen, *xs), "w": draw(gen, *ws)}
        if bias:
            inputs["b"] = draw(gen, ws[0])
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
                **{f"{k}_shape": list(v.shape) for k, v in inputs.items()}, **{k: values(v) for k, v in inputs.items()}}
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)

            def fn(x, w, b=None):
                return F.conv2d(x, w, b, stride, padding, dilation, groups)

            out, g, dy = grads(fn, inputs, dtype, lambda s: torch.randn(s, generator=dy_gen))
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy),
                           **{f"d{k}": values(v) for k, v in g.items()}}
        cases.append(case)
    return cases


CONV_TRANSPOSE_CASES = [
    # name, x shape, w shape, bias, stride, padding, output_padding, dilation, groups
    ("basic_3x3", [2, 3, 4, 4], [3, 2, 3, 3], True, [1, 1], [0, 0], [0, 0], [1, 1], 1),
    ("stride2_pad1_outpad1", [1, 2, 4, 5], [2, 3, 3, 3], True, [2, 2], [1, 1], [1, 1], [1, 1], 1),
    ("rect_asymmetric", [2, 2, 3, 4], [2, 2, 2, 3], False, [2, 1], [1, 0], [1, 0], [1, 1], 1),
    ("dilated", [1, 2, 4, 4], [2, 2, 3, 2], True, [1, 2], [2, 1], [0, 1], [2, 3], 1),
    ("grouped", [1, 4, 3, 3], [4, 3, 3, 3], True, [2, 2], [1, 1], [0, 0], [1, 1], 2),
    ("depthwise_stride3", [2, 3, 2, 3], [3, 1, 4, 4], False, [3, 3], [0, 1], [2, 0], [1, 1], 3),
    ("unbatched", [2, 3, 3], [2, 3, 2, 2], True, [2, 2], [0, 0], [0, 0], [1, 1], 1),
    # output_padding >= stride, allowed below the dilation: rows and columns that no input reaches
    ("output_padding_past_stride", [1, 2, 3, 3], [2, 2, 3, 2], True, [1, 2], [0, 1], [1, 2], [2, 3], 1),
]


def conv_transpose_fixtures():
    gen = torch.Generator().manual_seed(31)
    cases = []
    for name, xs, ws, bias, stride, padding, output_padding, dilation, groups in CONV_TRANSPOSE_CASES:
        inputs = {"x": draw(gen, *xs), "w": draw(gen, *ws)}
        if bias:
            inputs["b"] = draw(gen, ws[1] * groups)
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, "stride": stride, "padding": padding, "output_padding": output_padding,
                "dilation": dilation, "groups": groups,
                **{f"{k}_shape": list(v.shape) for k, v in inputs.items()}, **{k: values(v) for k, v in inputs.items()}}
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)

            def fn(x, w, b=None):
                return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)

            out, g, dy = grads(fn, inputs, dtype, lambda s: torch.randn(s, generator=dy_gen))
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy),
                           **{f"d{k}": values(v) for k, v in g.items()}}
        cases.append(case)
    return cases


POOL_CASES = [
    # name, op, x shape, kernel, stride (None: kernel), padding
    ("max_3x3_s2_p1", "max", [1, 2, 7, 7], [3, 3], [2, 2], [1, 1]),
    ("max_2x2", "max", [1, 2, 4, 6], [2, 2], None, [0, 0]),
    ("max_rect_overlap", "max", [2, 1, 7, 6], [3, 2], [1, 2], [1, 1]),
    ("max_3d_input", "max", [3, 5, 5], [2, 3], [2, 1], [0, 1]),
    ("avg_3x3_s2_p1", "avg", [1, 2, 7, 7], [3, 3], [2, 2], [1, 1]),
    ("avg_2x2", "avg", [1, 2, 4, 6], [2, 2], None, [0, 0]),
    ("avg_rect_overlap", "avg", [2, 1, 7, 6], [3, 2], [1, 2], [1, 1]),
    ("adaptive_7x7_to_3x3", "adaptive", [1, 2, 7, 7], [3, 3], None, None),
    ("adaptive_5x6_to_2x4", "adaptive", [1, 2, 5, 6], [2, 4], None, None),
    ("adaptive_global", "adaptive", [2, 2, 5, 5], [1, 1], None, None),
    ("adaptive_upsample_3d", "adaptive", [2, 3, 4], [5, 3], None, None),
]


# ceil_mode and count_include_pad = False; drawn from a generator of their own (pool_fixtures), so that
# the cases above and every fixture after them stay as they were.
POOL_MODE_CASES = [
    # name, op, x shape, kernel, stride, padding, ceil_mode, count_include_pad
    ("max_ceil_3x3_s2", "max", [1, 2, 8, 8], [3, 3], [2, 2], [0, 0], True, True),
    ("max_ceil_rect_p1", "max", [2, 1, 7, 6], [3, 2], [2, 3], [1, 1], True, True),
    # the last window would start in the right padding: dropped
    ("max_ceil_dropped_window", "max", [1, 1, 5, 5], [2, 2], [2, 2], [1, 1], True, True),
    ("avg_ceil_3x3_s2", "avg", [1, 2, 8, 8], [3, 3], [2, 2], [0, 0], True, True),
    ("avg_ceil_p1", "avg", [2, 1, 7, 6], [3, 3], [2, 2], [1, 1], True, True),
    ("avg_exclude_pad", "avg", [1, 2, 7, 7], [3, 3], [2, 2], [1, 1], False, False),
    ("avg_ceil_exclude_pad", "avg", [2, 1, 7, 6], [3, 2], [2, 3], [1, 1], True, False),
]


def pool_fixtures(gen):
    cases = []

    def add(name, op, x, kernel, stride, padding, gen, ceil_mode=False, count_include_pad=True):
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, "op": op, "x_shape": list(x.shape), "x": values(x), "kernel_size": kernel,
                "stride": stride, "padding": padding}
        if ceil_mode or not count_include_pad:
            case.update(ceil_mode=ceil_mode, count_include_pad=count_include_pad)
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)

            def fn(x):
                if op == "max":
                    return F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
                if op == "avg":
                    return F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode,
                                        count_include_pad=count_include_pad)
                return F.adaptive_avg_pool2d(x, kernel)

            out, g, dy = grads(fn, {"x": x}, dtype, lambda s: torch.randn(s, generator=dy_gen))
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy), "dx": values(g["x"])}
        cases.append(case)

    for name, op, xs, kernel, stride, padding in POOL_CASES:
        add(name, op, draw(gen, *xs), kernel, stride, padding, gen)
    mode_gen = torch.Generator().manual_seed(11)
    for name, op, xs, kernel, stride, padding, ceil_mode, count_include_pad in POOL_MODE_CASES:
        add(name, op, draw(mode_gen, *xs), kernel, stride, padding, mode_gen, ceil_mode, count_include_pad)
    return cases


def loss_fixtures(gen):
    cases = []
    reductions = ["mean", "sum", "none"]

    def add(name, fn, inputs, extra, gen=gen, constants=()):
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, **extra, **{f"{k}_shape": list(v.shape) for k, v in inputs.items()},
                **{k: values(v) if v.dtype.is_floating_point else v.tolist() for k, v in inputs.items()}}
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)
            out, g, dy = grads(fn, inputs, dtype, lambda s: torch.randn(s, generator=dy_gen), constants)
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy),
                           **{f"d{k}": values(v) for k, v in g.items()}}
        cases.append(case)

    for dim, shape in [(1, [4, 5]), (0, [3, 4]), (-1, [2, 3, 4]), (1, [2, 3, 4])]:
        x = draw(gen, *shape) * 3
        add(f"log_softmax_dim{dim}_{len(shape)}d", lambda x: F.log_softmax(x, dim), {"x": x},
            {"op": "log_softmax", "dim": dim})
        add(f"softmax_dim{dim}_{len(shape)}d", lambda x: F.softmax(x, dim), {"x": x}, {"op": "softmax", "dim": dim})
    for reduction in reductions:
        for smoothing in [0.0, 0.1, 1.0]:
            logits = draw(gen, 6, 5) * 2
            target = torch.randint(0, 5, (6,), generator=gen)
            add(f"cross_entropy_{reduction}_ls{smoothing}",
                lambda logits, target: F.cross_entropy(logits, target, reduction=reduction,
                                                       label_smoothing=smoothing),
                {"logits": logits, "target": target},
                {"op": "cross_entropy", "reduction": reduction, "label_smoothing": smoothing})
        log_probs = F.log_softmax(draw(gen, 5, 4), 1)
        target = torch.randint(0, 4, (5,), generator=gen)
        add(f"nll_loss_{reduction}", lambda log_probs, target: F.nll_loss(log_probs, target, reduction=reduction),
            {"log_probs": log_probs, "target": target}, {"op": "nll_loss", "reduction": reduction})
        add(f"mse_loss_{reduction}", lambda x, t: F.mse_loss(x, t, reduction=reduction),
            {"x": draw(gen, 3, 4), "t": draw(gen, 3, 4)}, {"op": "mse_loss", "reduction": reduction})
    # Ignored samples (drawn after the cases above, which stay as they were): PyTorch's default -100, and
    # a class index named as ignore_index; a mean over the samples that count.
    for reduction in reductions:
        for smoothing, ignore_index in [(0.0, -100), (0.2, -100), (0.1, 2)]:
            logits = draw(gen, 6, 5) * 2
            target = torch.randint(0, 5, (6,), generator=gen)
            target[1] = target[4] = ignore_index
            add(f"cross_entropy_{reduction}_ls{smoothing}_ignore{ignore_index}",
                lambda logits, target: F.cross_entropy(logits, target, reduction=reduction,
                                                       label_smoothing=smoothing, ignore_index=ignore_index),
                {"logits": logits, "target": target},
                {"op": "cross_entropy", "reduction": reduction, "label_smoothing": smoothing,
                 "ignore_index": ignore_index})
        log_probs = F.log_softmax(draw(gen, 5, 4), 1)
        target = torch.randint(0, 4, (5,), generator=gen)
        target[0] = -100
        add(f"nll_loss_{reduction}_ignore-100",
            lambda log_probs, target: F.nll_loss(log_probs, target, reduction=reduction),
            {"log_probs": log_probs, "target": target}, {"op": "nll_loss", "reduction": reduction, "ignore_index": -100})
    # Class weights, with smoothing and an ignored sample: a mean divides by the targets' total weight.
    # Drawn from a generator of their own, so that every case above and the accuracy fixture stay as they were.
    wgen = torch.Generator().manual_seed(7)
    for reduction in reductions:
        for smoothing in [0.0, 0.3]:
            logits = draw(wgen, 6, 5) * 2
            weight = torch.rand(5, generator=wgen) * 2
            target = torch.randint(0, 5, (6,), generator=wgen)
            target[2] = -100
            add(f"cross_entropy_{reduction}_ls{smoothing}_weighted",
                lambda logits, target, weight: F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                                                               label_smoothing=smoothing),
                {"logits": logits, "target": target, "weight": weight},
                {"op": "cross_entropy", "reduction": reduction, "label_smoothing": smoothing}, gen=wgen,
                constants=["weight"])
        log_probs = F.log_softmax(draw(wgen, 5, 4), 1)
        weight = torch.rand(4, generator=wgen) * 2
        target = torch.randint(0, 4, (5,), generator=wgen)
        target[3] = -100
        add(f"nll_loss_{reduction}_weighted",
            lambda log_probs, target, weight: F.nll_loss(log_probs, target, weight=weight, reduction=reduction),
            {"log_probs": log_probs, "target": target, "weight": weight}, {"op": "nll_loss", "reduction": reduction},
            gen=wgen, constants=["weight"])
    # The regression and binary losses, from a generator of their own as well.
    rgen = torch.Generator().manual_seed(8)
    for reduction in reductions:
        for name, fn, extra in [
            ("l1_loss", lambda x, t: F.l1_loss(x, t, reduction=reduction), {}),
            ("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=0.7), {"beta": 0.7}),
            ("smooth_l1_loss_beta0", lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=0.0),
             {"beta": 0.0}),
            ("huber_loss", lambda x, t: F.huber_loss(x, t, reduction=reduction, delta=1.3), {"delta": 1.3}),
        ]:
            op = name.replace("_beta0", "")
            add(f"{name}_{reduction}", fn, {"x": draw(rgen, 3, 5), "t": draw(rgen, 3, 5)},
                {"op": op, "reduction": reduction, **extra}, gen=rgen)
        probs = torch.rand(4, 3, generator=rgen) * 0.98 + 0.01
        probs[0, 0], probs[0, 1] = 0.0, 1.0  # the clamped logs
        target = torch.rand(4, 3, generator=rgen)
        target[1] = (target[1] > 0.5).float()
        weight = torch.rand(3, generator=rgen) * 2
        add(f"binary_cross_entropy_{reduction}",
            lambda x, t, weight: F.binary_cross_entropy(x, t, weight=weight, reduction=reduction),
            {"x": probs, "t": target, "weight": weight}, {"op": "binary_cross_entropy", "reduction": reduction},
            gen=rgen, constants=["t", "weight"])
        logits = draw(rgen, 4, 3) * 4
        logits[0, 0], logits[0, 1] = 40.0, -40.0  # beyond exp's float32 range once negated
        pos_weight = torch.rand(3, generator=rgen) * 3
        add(f"binary_cross_entropy_with_logits_{reduction}",
            lambda x, t, weight, pos_weight: F.binary_cross_entropy_with_logits(
                x, t, weight=weight, pos_weight=pos_weight, reduction=reduction),
            {"x": logits, "t": target, "weight": weight[None, :].expand(4, 3).contiguous(), "pos_weight": pos_weight},
            {"op": "binary_cross_entropy_with_logits", "reduction": reduction}, gen=rgen,
            constants=["weight", "pos_weight"])
        add(f"binary_cross_entropy_with_logits_plain_{reduction}",
            lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
            {"x": draw(rgen, 5), "t": torch.rand(5, generator=rgen)},
            {"op": "binary_cross_entropy_with_logits", "reduction": reduction}, gen=rgen)
    # A weight per class ([C], broadcast over the batch) with the logits loss.
    for reduction in reductions:
        add(f"binary_cross_entropy_with_logits_class_weight_{reduction}",
            lambda x, t, weight: F.binary_cross_entropy_with_logits(x, t, weight=weight, reduction=reduction),
            {"x": draw(rgen, 4, 3) * 3, "t": torch.rand(4, 3, generator=rgen), "weight": torch.rand(3, generator=rgen)},
            {"op": "binary_cross_entropy_with_logits", "reduction": reduction}, gen=rgen, constants=["weight"])
    return cases


def activation_fixtures():
    gen = torch.Generator().manual_seed(13)
    cases = []
    ops = [
        ("leaky_relu_0.01", lambda x: F.leaky_relu(x, 0.01), {"op": "leaky_relu", "negative_slope": 0.01}),
        ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), {"op": "leaky_relu", "negative_slope": 0.2}),
        ("gelu", lambda x: F.gelu(x), {"op": "gelu", "approximate": "none"}),
        ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), {"op": "gelu", "approximate": "tanh"}),
        ("silu", lambda x: F.silu(x), {"op": "silu"}),
        ("erf", lambda x: torch.erf(x), {"op": "erf"}),
    ]
    for name, fn, extra in ops:
        x = draw(gen, 4, 6) * 2.5
        x[0, 0] = 0.0  # the kink of leaky_relu: PyTorch's gradient there is the slope
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, **extra, "x_shape": list(x.shape), "x": values(x)}
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)
            out, g, dy = grads(fn, {"x": x}, dtype, lambda s: torch.randn(s, generator=dy_gen))
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy), "dx": values(g["x"])}
        cases.append(case)
    return cases


PAD_CASES = [
    # name, input shape, pad, mode, value
    ("constant_last_dim", [2, 3, 5], [2, 1], "constant", 0.0),
    ("constant_value_three_dims", [2, 3, 4], [1, 0, 2, 1, 0, 1], "constant", -1.5),
    ("constant_negative_crops", [2, 3, 6, 5], [-1, 2, 1, -2], "constant", 0.5),
    ("constant_all_dims", [2, 3], [1, 1, 0, 2], "constant", 2.0),
    ("reflect_1d", [2, 3, 6], [3, 2], "reflect", 0.0),
    ("reflect_2d", [2, 2, 4, 5], [1, 3, 2, 0], "reflect", 0.0),
    ("reflect_2d_unbatched", [2, 4, 5], [2, 2, 1, 1], "reflect", 0.0),
    ("reflect_3d", [1, 2, 3, 4, 4], [1, 1, 2, 0, 1, 2], "reflect", 0.0),
    ("replicate_1d", [2, 3, 4], [5, 1], "replicate", 0.0),
    ("replicate_2d", [2, 2, 3, 4], [2, 1, 0, 3], "replicate", 0.0),
    ("replicate_3d", [1, 2, 2, 3, 3], [1, 0, 0, 2, 2, 1], "replicate", 0.0),
    ("circular_1d", [2, 3, 5], [2, 5], "circular", 0.0),
    ("circular_2d", [2, 2, 4, 5], [1, 2, 3, 1], "circular", 0.0),
    ("circular_3d", [1, 2, 3, 3, 4], [1, 1, 0, 3, 2, 1], "circular", 0.0),
    # Negative sizes crop: constant and circular first, reflect and replicate after padding.
    ("constant_crop_all_then_pad", [2, 3, 4], [-4, 2], "constant", 1.0),
    ("reflect_negative", [2, 3, 6], [3, -2], "reflect", 0.0),
    ("replicate_negative", [2, 2, 4, 5], [-1, 4, 2, -1], "replicate", 0.0),
    ("circular_negative", [2, 2, 4, 5], [2, -2, -1, 1], "circular", 0.0),
]


def padding_fixtures():
    gen = torch.Generator().manual_seed(21)
    cases = []
    for name, shape, pad, mode, value in PAD_CASES:
        x = draw(gen, *shape)
        dy_seed = torch.randint(0, 2**31, (1,), generator=gen).item()
        case = {"name": name, "x_shape": shape, "x": values(x), "pad": pad, "mode": mode, "value": value}
        kwargs = {"value": value} if mode == "constant" else {}
        for dname, dtype in DTYPES.items():
            dy_gen = torch.Generator().manual_seed(dy_seed)
            out, g, dy = grads(lambda x: F.pad(x, pad, mode=mode, **kwargs), {"x": x}, dtype,
                               lambda s: torch.randn(s, generator=dy_gen))
            case[dname] = {"y_shape": list(out.shape), "y": values(out), "dy": values(dy), "dx": values(g["x"])}
        cases.append(case)
    return cases


def accuracy_fixtures(gen):
    logits = draw(gen, 50, 7)
    target = torch.randint(0, 7, (50,), generator=gen)
    top = torch.topk(logits, 3, dim=1).indices
    return {"logits_shape": [50, 7], "logits": values(logits), "target": target.tolist(),
            "correct_top1": int((logits.argmax(1) == target).sum()),
            "correct_top3": int((top == target[:, None]).any(1).sum())}


def main():
    gen = torch.Generator().manual_seed(0)
    outputs = {
        "conv.json": {"cases": conv_fixtures(gen)},
        "pooling.json": {"cases": pool_fixtures(gen)},
        "loss.json": {"cases": loss_fixtures(gen), "accuracy": accuracy_fixtures(gen)},
        "activation.json": {"cases": activation_fixtures()},
        "padding.json": {"cases": padding_fixtures()},
        "conv_transpose.json": {"cases": conv_transpose_fixtures()},
    }
    for file, content in outputs.items():
        with open(f"{OUT}/{file}", "w") as f:
            json.dump({"torch_version": torch.__version__, **content}, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()

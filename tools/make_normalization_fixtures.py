#!/usr/bin/python3
"""Writes tests/nn/testdata/normalization.json: torch.nn.functional.batch_norm, instance_norm, group_norm
and layer_norm over a grid of cases (every rank 2..5, training and eval, with and without affine
parameters and running statistics, several momenta and eps), plus hard numerics (mean 1e4 and standard
deviation 0.1, constant channels, one position with N = 2, tiny and huge eps): outputs, running statistics
after the call, and the gradients of sum(y * dy) for input, weight and bias.

Inputs are float32 values (so the float32 test starts from exactly these numbers) and the references are
computed by torch in float64. Also tests/nn/testdata/rms_norm.json (rms_norm_fixtures below). Run with
/usr/bin/python3 (Debian's python3-torch) from the repository root.
"""

import json

import torch

F = torch.nn.functional
GEN = torch.Generator().manual_seed(0)


def f32(t):
    """Rounded to float32, held in float64."""
    return t.float().double()


def randn(shape, mean=0.0, std=1.0):
    return f32(torch.randn(shape, generator=GEN, dtype=torch.float64) * std + mean)


def flat(t, digits=13):
    """Row-major values with `digits` significant digits: 9 recover a float32 input exactly (the test
    rounds inputs to float32 first), 13 keep a float64 reference well inside the 1e-10 tolerance."""
    return None if t is None else [float(f"{v:.{digits}g}") for v in t.detach().flatten().tolist()]


def variances(op, x, rv, args):
    """The variances each op normalizes with (biased batch ones, or the running ones)."""
    if op == "batch_norm":
        return x.transpose(0, 1).flatten(1).var(1, unbiased=False) if args["training"] else rv
    if op == "instance_norm":
        return x.flatten(2).var(2, unbiased=False) if args["use_input_stats"] else rv
    if op == "group_norm":
        return x.reshape(x.shape[0], args["num_groups"], -1).var(2, unbiased=False)
    return x.flatten(x.dim() - len(args["normalized_shape"])).var(-1, unbiased=False)


def run(op, shape, args, x=None, affine=True, running=False, affine_shape=None):
    """One case: op in {batch_norm, instance_norm, group_norm, layer_norm}; args holds the op's options."""
    x = randn(shape, 0.5, 2.0) if x is None else x
    c = shape[1] if op != "layer_norm" else None
    affine_shape = affine_shape or [c]
    w = randn(affine_shape, 1.0, 0.5) if affine else None
    b = randn(affine_shape) if affine else None
    rm = randn([c], 0.2, 0.5) if running else None
    rv = f32(torch.rand([c], generator=GEN, dtype=torch.float64) + 0.5) if running else None
    dy = randn(shape)
    case = {"op": op, "shape": shape, "x": flat(x, 9), "dy": flat(dy, 9), "weight": flat(w, 9),
            "bias": flat(b, 9), "running_mean": flat(rm, 9), "running_var": flat(rv, 9), **args}
    inputs = [t.clone().requires_grad_() if t is not None else None for t in (x, w, b)]
    xg, wg, bg = inputs
    rm2 = rm.clone() if running else None
    rv2 = rv.clone() if running else None
    if op == "batch_norm":
        y = F.batch_norm(xg, rm2, rv2, wg, bg, args["training"], args["momentum"], args["eps"])
    elif op == "instance_norm":
        y = F.instance_norm(xg, rm2, rv2, wg, bg, args["use_input_stats"], args["momentum"], args["eps"])
    elif op == "group_norm":
        y = F.group_norm(xg, args["num_groups"], wg, bg, args["eps"])
    else:
        y = F.layer_norm(xg, args["normalized_shape"], wg, bg, args["eps"])
    grads = torch.autograd.grad((y * dy).sum(), [t for t in inputs if t is not None])
    # The size of the terms that the input gradient sums, |dy * weight / std|: where they cancel (two
    # values per statistic, constant channels) the result is tiny and its accuracy is relative to them.
    var = variances(op, x, rv, args)
    term = dy.abs().max() * (w.abs().max() if affine else 1.0) / (var.min() + args["eps"]).sqrt()
    grads = list(grads) + [None] * (3 - len(grads))
    if not affine:
        grads = [grads[0], None, None]
    case.update({"y": flat(y), "new_running_mean": flat(rm2), "new_running_var": flat(rv2),
                 "grad_input": flat(grads[0]), "grad_input_scale": float(f"{float(term):.13g}"), "grad_weight": flat(grads[1]), "grad_bias": flat(grads[2])})
    return case


def main():
    cases = []
    shapes = {2: [4, 3], 3: [3, 2, 5], 4: [2, 3, 2, 3], 5: [2, 2, 2, 2, 3]}
    momenta = [0.1, 0.5, 1.0, 0.0, 0.25]
    epsilons = [1e-5, 1e-3, 0.1, 0.0]
    k = 0
    for rank, shape in shapes.items():
        for training in (True, False):
            for affine in (True, False):
                for running in ((True, False) if training else (True,)):
                    args = {"training": training, "momentum": momenta[k % len(momenta)],
                            "eps": epsilons[k % len(epsilons)] if training else 1e-5 * (k % 3 + 1)}
                    k += 1
                    cases.append(run("batch_norm", shape, args, affine=affine, running=running))
    for rank, shape in shapes.items():
        for use_input_stats in (True, False):
            if rank == 2 and use_input_stats:
                continue  # one position per instance: refused
            for affine, running in ((True, True), (False, use_input_stats)):
                if not use_input_stats and not running:
                    continue
                args = {"use_input_stats": use_input_stats, "momentum": momenta[k % len(momenta)],
                        "eps": 1e-5 if k % 2 else 1e-3}
                k += 1
                cases.append(run("instance_norm", shape, args, affine=affine, running=running))
    for shape, groups in (([4, 6], 3), ([3, 4, 5], 2), ([2, 6, 2, 3], 6), ([2, 4, 2, 2, 2], 1)):
        for affine in (True, False):
            cases.append(run("group_norm", shape, {"num_groups": groups, "eps": 1e-5}, affine=affine))
    for shape, normalized in (([4, 6], [6]), ([2, 3, 4], [3, 4]), ([2, 2, 3, 5], [5]), ([3, 5], [3, 5])):
        for affine in (True, False):
            cases.append(run("layer_norm", shape, {"normalized_shape": normalized, "eps": 1e-5}, affine=affine,
                             affine_shape=normalized))

    # Hard numerics.
    train = {"training": True, "momentum": 0.1, "eps": 1e-5}
    for shape in ([64, 3], [8, 2, 16], [4, 3, 3, 3]):
        cases.append(dict(run("batch_norm", shape, train, x=randn(shape, 1e4, 0.1), running=True), name="large_offset"))
    cases.append(dict(run("layer_norm", [6, 40], {"normalized_shape": [40], "eps": 1e-5}, x=randn([6, 40], 1e4, 0.1),
                          affine_shape=[40]), name="large_offset"))
    cases.append(dict(run("group_norm", [3, 4, 25], {"num_groups": 2, "eps": 1e-5}, x=randn([3, 4, 25], -1e4, 0.1)),
                      name="large_offset"))
    constant = randn([4, 3, 5])
    constant[:, 1] = 2.5
    cases.append(dict(run("batch_norm", [4, 3, 5], train, x=constant, running=True), name="constant_channel"))
    cases.append(dict(run("instance_norm", [4, 3, 5], {"use_input_stats": True, "momentum": 0.1, "eps": 1e-5},
                          x=constant, running=True), name="constant_channel"))
    cases.append(dict(run("batch_norm", [2, 3], train, running=True), name="one_position_two_samples"))
    cases.append(dict(run("batch_norm", [2, 4, 1, 1], train, running=True), name="one_position_two_samples"))
    for eps in (1e-12, 1e4):
        cases.append(dict(run("batch_norm", [5, 3, 4], {"training": True, "momentum": 0.1, "eps": eps}, running=True),
                          name="extreme_eps"))
        cases.append(dict(run("batch_norm", [5, 3, 4], {"training": False, "momentum": 0.1, "eps": eps}, running=True),
                          name="extreme_eps"))
    with open("tests/nn/testdata/normalization.json", "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, separators=(",", ":"))


def rms_norm_reference(x, normalized_shape, weight, eps):
    """PyTorch's definition of rms_norm (its composite ATen implementation); eps None is the dtype's epsilon."""
    if eps is None:
        eps = torch.finfo(x.dtype).eps
    dims = tuple(range(x.dim() - len(normalized_shape), x.dim()))
    y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def rms_norm_fixtures():
    """tests/nn/testdata/rms_norm.json. PyTorch 1.13 has no F.rms_norm: the references use its definition
    above, and under PyTorch >= 2.4 are checked against F.rms_norm itself."""
    gen = torch.Generator().manual_seed(5)
    cases = []
    for name, shape, normalized, affine, eps, scale in [
            ("last_dim", [4, 6], [6], True, None, 1.0),
            ("two_dims", [2, 3, 4], [3, 4], True, 1e-5, 1.0),
            ("no_weight", [3, 5], [3, 5], False, 1e-3, 1.0),
            ("tiny_values_default_eps", [2, 2, 8], [8], True, None, 1e-4),
            ("tiny_values_eps", [2, 2, 8], [8], False, 1e-6, 1e-3)]:
        x = torch.randn(shape, generator=gen) * scale
        w = (1 + 0.3 * torch.randn(normalized, generator=gen)) if affine else None
        dy = torch.randn(shape, generator=gen)
        case = {"name": name, "shape": shape, "normalized_shape": normalized, "eps": eps,
                "x": flat(x.double()), "weight": flat(w.double()) if affine else None, "dy": flat(dy.double())}
        for dname, dtype in (("float32", torch.float32), ("float64", torch.float64)):
            xd = x.to(dtype).requires_grad_()
            wd = w.to(dtype).requires_grad_() if affine else None
            y = rms_norm_reference(xd.double() if dtype == torch.float32 else xd, normalized,
                                   None if wd is None else (wd.double() if dtype == torch.float32 else wd),
                                   torch.finfo(dtype).eps if eps is None else eps)
            if hasattr(F, "rms_norm"):
                expected = F.rms_norm(x.to(dtype).double(), normalized, None if w is None else w.to(dtype).double(),
                                      torch.finfo(dtype).eps if eps is None else eps)
                assert torch.allclose(y, expected, rtol=1e-12, atol=1e-14), name
            grads = torch.autograd.grad(y, [xd] + ([wd] if affine else []), dy.to(y.dtype))
            case[dname] = {"y": flat(y), "dx": flat(grads[0]), "dweight": flat(grads[1]) if affine else None}
        cases.append(case)
    with open("tests/nn/testdata/rms_norm.json", "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
    rms_norm_fixtures()

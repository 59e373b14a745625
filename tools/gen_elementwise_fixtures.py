"""Writes tests/core/testdata/elementwise_reduce.json: PyTorch results for the elementwise and reduction
kernels' tests. Run with Debian's python3-torch: /usr/bin/python3 tools/gen_elementwise_fixtures.py"""
import json
import os

import torch

torch.set_num_threads(1)
torch.manual_seed(0)

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "core", "testdata", "elementwise_reduce.json")


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def main():
    x = torch.linspace(-6.0, 6.0, 25, dtype=torch.float64)
    pos = torch.linspace(0.05, 9.0, 25, dtype=torch.float64)
    unary = {
        "neg": flat(-x), "abs": flat(x.abs()), "relu": flat(x.relu()), "exp": flat(x.exp()),
        "sigmoid": flat(x.sigmoid()), "tanh": flat(x.tanh()), "erf": flat(x.erf()),
        "log": flat(pos.log()), "sqrt": flat(pos.sqrt()), "rsqrt": flat(pos.rsqrt()),
        "pow_1.7": flat(pos.pow(1.7)), "pow_-0.5": flat(pos.pow(-0.5)), "pow_3": flat(x.pow(3)),
        "clamp_-1_2": flat(x.clamp(-1, 2)),
    }
    a = torch.randn(3, 1, 5, dtype=torch.float64)
    b = torch.rand(4, 1, dtype=torch.float64) + 0.5
    binary = {
        "a": flat(a), "a_shape": list(a.shape), "b": flat(b), "b_shape": list(b.shape),
        "add": flat(a + b), "sub": flat(a - b), "mul": flat(a * b), "div": flat(a / b),
        "pow": flat(b.pow(a)), "out_shape": list((a + b).shape),
    }
    r = torch.randn(3, 4, 5, dtype=torch.float64) * 3 + 1
    reduce = {"x": flat(r), "shape": list(r.shape), "cases": []}
    for dims in ([0], [1], [2], [0, 2], [1, 2], [0, 1, 2]):
        reduce["cases"].append({
            "dims": dims,
            "sum": flat(r.sum(dims)), "mean": flat(r.mean(dims)),
            "var": flat(r.var(dims)), "var0": flat(r.var(dims, unbiased=False)),
        })
    for dim in (0, 1, 2):
        v, i = r.max(dim)
        w, j = r.min(dim)
        reduce["cases"].append({"dim": dim, "max": flat(v), "argmax": i.reshape(-1).tolist(),
                                "min": flat(w), "argmin": j.reshape(-1).tolist()})
    with open(OUT, "w") as f:
        json.dump({"torch_version": torch.__version__, "unary_x": flat(x), "unary_pos": flat(pos),
                   "unary": unary, "binary": binary, "reduce": reduce}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

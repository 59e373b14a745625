"""Writes tests/core/testdata/matmul.json: torch.matmul results for the shape combinations that
normgrad's matmul must treat like PyTorch (1-d promotion, batch broadcasting). Run with /usr/bin/python3
(Debian's python3-torch) from the repository root."""

import json

import torch

CASES = [
    ([3], [3]),
    ([3], [3, 2]),
    ([2, 3], [3]),
    ([2, 3], [3, 4]),
    ([4], [2, 4, 3]),
    ([2, 2, 4], [4]),
    ([2, 1, 2, 3], [4, 3, 2]),
    ([5, 3], [2, 3, 2]),
    ([1, 3, 2, 3], [2, 1, 3, 1]),
    ([2, 3, 0], [0, 2]),
]


def main():
    gen = torch.Generator().manual_seed(0)
    cases = []
    for sa, sb in CASES:
        a = torch.randn(sa, generator=gen, dtype=torch.float64)
        b = torch.randn(sb, generator=gen, dtype=torch.float64)
        out = torch.matmul(a, b)
        cases.append({
            "a_shape": sa, "a": a.flatten().tolist(),
            "b_shape": sb, "b": b.flatten().tolist(),
            "out_shape": list(out.shape), "out": out.flatten().tolist(),
        })
    with open("tests/core/testdata/matmul.json", "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()

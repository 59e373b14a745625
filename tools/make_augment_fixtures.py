"""Writes tests/data/testdata/trivial_augment.json: torchvision's TrivialAugmentWide operations applied to a
few small uint8 images (noise, smooth colour, one channel, odd sides) at three magnitudes of each operation,
both signs, for data/trivial_augment's test; pixels as hex strings, two digits a value. Run with Debian's
python3-torch and python3-torchvision (0.14): /usr/bin/python3 tools/make_augment_fixtures.py"""
import json
import os

import torch
import torchvision
from torchvision.transforms import InterpolationMode, TrivialAugmentWide
from torchvision.transforms.autoaugment import _apply_op

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "testdata", "trivial_augment.json")


def images():
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (3, 16, 16), generator=g, dtype=torch.uint8)
    # Smooth content with a narrow range, so that equalize and autocontrast change it.
    y, x = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    smooth = torch.stack([60 + 40 * torch.sin(x / 3), 90 + 30 * torch.cos(y / 4), 70 + 1.6 * (x + y)]).to(torch.uint8)
    grey = torch.randint(30, 200, (1, 12, 12), generator=g, dtype=torch.uint8)  # one channel
    odd = torch.randint(0, 256, (3, 7, 9), generator=g, dtype=torch.uint8)  # not square, odd sides
    return {"noise": noise, "smooth": smooth, "grey": grey, "odd": odd}


def main():
    space = TrivialAugmentWide()._augmentation_space(31)
    ops = [{"name": name, "signed": signed, "magnitudes": [float(m) for m in magnitudes.reshape(-1).tolist()]}
           for name, (magnitudes, signed) in space.items()]
    sources = images()
    cases = []
    for image_name, img in sources.items():
        for op in ops:
            name, signed, table = op["name"], op["signed"], op["magnitudes"]
            for b in ([4, 17, 30] if len(table) > 1 else [0]):
                for sign in ([1, -1] if signed and table[b] != 0 else [1]):
                    m = sign * table[b]
                    out = _apply_op(img, name, m, interpolation=InterpolationMode.NEAREST, fill=None)
                    cases.append({"image": image_name, "op": name, "magnitude": m,
                                  "output": bytes(out.reshape(-1).tolist()).hex()})
    data = {
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "ops": ops,
        "images": {k: {"shape": list(v.shape), "pixels": bytes(v.reshape(-1).tolist()).hex()} for k, v in sources.items()},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()

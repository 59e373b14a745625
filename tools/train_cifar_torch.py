#!/usr/bin/python3
"""train_cifar's recipe in PyTorch, on the same files, split and augmentation, for comparing accuracy curves.

Reads CIFAR-10 in the official binary layout (data_batch_1..5.bin, directly in DATA_DIR or in its
cifar-10-batches-bin/), holds out the last --val_split training images as train_cifar does, and trains the
CIFAR ResNet of tools/cifar_resnet_torch.py (He-initialized as nn/resnet.cc does): SGD with (Nesterov) momentum, weight decay off the batch-norm
parameters and biases, the learning rate annealed per batch by a cosine to 0, random crops of the image
padded by 4 black pixels and horizontal flips, per-channel normalization and, with --cutout, a square of
zeros (the mean, after normalization) centred at a uniform pixel and clipped at the borders. After every epoch it evaluates
on the validation images in eval mode and appends one JSON line per epoch to --log, with train_cifar's
keys (epoch, lr, train_loss, train_accuracy, val_loss, val_accuracy, epoch_seconds), so that both runs'
metrics.jsonl can be compared line by line. The random streams are PyTorch's, not normgrad's: the two
runs agree in distribution, not batch for batch.

    /usr/bin/python3 tools/train_cifar_torch.py --data_dir DIR [--epochs 90] [--threads 2] [--log torch.jsonl]
        [--cutout 16] [--max_train_batches N]   (a smoke run)
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar_resnet_torch import cifar_resnet  # noqa: E402

MEAN = (0.4914, 0.4822, 0.4465)  # data/cifar10.h
STD = (0.2470, 0.2435, 0.2616)


def load(data_dir):
    folder = os.path.join(data_dir, "cifar-10-batches-bin")
    folder = folder if os.path.isdir(folder) else data_dir
    parts = [np.fromfile(os.path.join(folder, f"data_batch_{b}.bin"), dtype=np.uint8).reshape(-1, 3073)
             for b in range(1, 6)]
    d = np.concatenate(parts)
    images = torch.from_numpy(d[:, 1:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(d[:, 0].astype(np.int64))
    return images, labels


def normalize(uint8_images):
    x = uint8_images.float() / 255
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def augment(batch, gen):
    # Pad by 4 black pixels, take a random 32 x 32 window, flip half the images.
    n = batch.shape[0]
    padded = F.pad(batch, (4, 4, 4, 4))
    out = torch.empty_like(batch)
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.randint(0, 2, (n,), generator=gen).bool()
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


def cutout(batch, side, gen):
    # A side x side square of zeros, centred at a uniform pixel and clipped at the borders, as the
    # data loader's cutout does.
    n, _, h, w = batch.shape
    cy = torch.randint(0, h, (n,), generator=gen) - side // 2
    cx = torch.randint(0, w, (n,), generator=gen) - side // 2
    for i in range(n):
        y0, x0 = max(int(cy[i]), 0), max(int(cx[i]), 0)
        batch[i, :, y0:max(int(cy[i]) + side, 0), x0:max(int(cx[i]) + side, 0)] = 0
    return batch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_dir", required=True)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight_decay", type=float, default=5e-4)
    p.add_argument("--cutout", type=int, default=0, help="side of the cutout square in pixels (0: none)")
    p.add_argument("--val_split", type=int, default=5000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max_train_batches", type=int, default=0)
    p.add_argument("--log", default="train_cifar_torch.jsonl")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    images, labels = load(a.data_dir)
    train_x, train_y = images[:-a.val_split], labels[:-a.val_split]
    val_x, val_y = normalize(images[-a.val_split:]), labels[-a.val_split:]
    model = cifar_resnet(a.depth)
    for m in model.modules():  # He initialization of every conv and linear weight, as nn/resnet.cc does
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    decay = [q for n, q in model.named_parameters() if q.dim() > 1]
    no_decay = [q for n, q in model.named_parameters() if q.dim() <= 1]  # batch norm and biases
    opt = torch.optim.SGD([{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0}],
                          lr=a.lr, momentum=a.momentum, nesterov=a.momentum > 0)
    batches = math.ceil(len(train_y) / a.batch_size)
    if a.max_train_batches:
        batches = min(batches, a.max_train_batches)
    total = a.epochs * batches
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / total)))
    with open(a.log, "w") as log:
        for epoch in range(1, a.epochs + 1):
            start = time.time()
            model.train()
            order = torch.randperm(len(train_y), generator=gen)
            loss_sum, correct, seen = 0.0, 0, 0
            for b in range(batches):
                idx = order[b * a.batch_size:(b + 1) * a.batch_size]
                x = normalize(augment(train_x[idx], gen))
                if a.cutout:
                    x = cutout(x, a.cutout, gen)
                y = train_y[idx]
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
            model.eval()
            with torch.no_grad():
                val_logits = torch.cat([model(val_x[i:i + 500]) for i in range(0, len(val_y), 500)])
            record = {"epoch": epoch, "lr": opt.param_groups[0]["lr"], "train_loss": loss_sum / seen,
                      "train_accuracy": correct / seen,
                      "val_loss": F.cross_entropy(val_logits, val_y).item(),
                      "val_accuracy": (val_logits.argmax(1) == val_y).float().mean().item(),
                      "epoch_seconds": time.time() - start, "torch_version": torch.__version__}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(f"epoch {epoch}/{a.epochs}  train loss {record['train_loss']:.4f} acc {100 * record['train_accuracy']:.2f}%"
                  f"  val loss {record['val_loss']:.4f} acc {100 * record['val_accuracy']:.2f}%"
                  f"  {record['epoch_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()

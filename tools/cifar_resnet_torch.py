"""The CIFAR ResNets of nn/resnet.h in PyTorch, for the fixture and interchange scripts in tools/.

Written after He et al. 2016 (section 4.2) with the module names of the common PyTorch implementations
(akamaster/pytorch_resnet_cifar10 for depth 6n + 2, kuangliu/pytorch-cifar for ResNet-18), so that their
state dict keys are the ones nn::ResNet uses.
"""
import torch.nn as nn
import torch.nn.functional as F


class ZeroPadShortcut(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if option == "A":
                self.shortcut = ZeroPadShortcut(planes)
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, widths, blocks, option, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        in_planes = widths[0]
        for s, (w, n) in enumerate(zip(widths, blocks)):
            layers = []
            for b in range(n):
                layers.append(BasicBlock(in_planes, w, 2 if s > 0 and b == 0 else 1, option))
                in_planes = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*layers))
        self.linear = nn.Linear(in_planes, num_classes)
        self.stages = len(widths)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, f"layer{s + 1}")(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def cifar_resnet(depth, option=None):
    if depth == 18:
        return ResNet([64, 128, 256, 512], [2, 2, 2, 2], option or "B")
    n = (depth - 2) // 6
    return ResNet([16, 32, 64], [n, n, n], option or "A")

#!/usr/bin/python3
"""Writes tests/optim/testdata/optim_fixtures.json: PyTorch's optimizers and schedulers on fixed inputs.

Each optimizer case runs 20 steps on two float64 parameters whose gradient at step t is
0.1 * p + noise[t] (the noise is in the file), and records the parameters after the last step.
Each schedule case records the lr (and momentum) after every scheduler step.
The averaged-model cases fold four snapshots of a Linear(3, 2) + BatchNorm1d(2) model (in the file) into
torch.optim.swa_utils.AveragedModel and record its state after each update.
Run with Debian's python3-torch: /usr/bin/python3 tools/make_optim_fixtures.py
"""
import json
import pathlib

import torch

torch.manual_seed(0)
STEPS = 20
SHAPES = [[3, 4], [5]]
p0 = [torch.randn(s, dtype=torch.float64) for s in SHAPES]
noise = [[torch.randn(s, dtype=torch.float64) for s in SHAPES] for _ in range(STEPS)]


def run(make_optimizer):
    params = [p.clone().requires_grad_() for p in p0]
    opt = make_optimizer(params)
    for t in range(STEPS):
        opt.zero_grad()
        for p, n in zip(params, noise[t]):
            p.grad = (0.1 * p.detach() + n).clone()
        opt.step()
    return [p.detach().flatten().tolist() for p in params]


optimizers = {
    "sgd": ({"kind": "sgd", "lr": 0.1}, lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": ({"kind": "sgd", "lr": 0.1, "momentum": 0.9},
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "sgd_dampening_decay": ({"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-2},
                            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
    "sgd_nesterov": ({"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    "sgd_groups": ({"kind": "sgd_groups"},
                   lambda ps: torch.optim.SGD([{"params": [ps[0]], "weight_decay": 5e-4},
                                               {"params": [ps[1]], "lr": 0.05}], lr=0.1, momentum=0.9)),
    "adam": ({"kind": "adam", "lr": 1e-2}, lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    "adam_decay": ({"kind": "adam", "lr": 1e-2, "beta1": 0.8, "beta2": 0.99, "weight_decay": 1e-2},
                   lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2)),
    "adamw": ({"kind": "adamw", "lr": 1e-2, "weight_decay": 1e-1},
              lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=1e-1)),
    "sgd_nesterov_maximize": ({"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
                               "maximize": True},
                              lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
                                                         maximize=True)),
    # beta2 0.9: the second moment forgets fast, so that AMSGrad's maximum differs from it in most elements.
    "adam_amsgrad": ({"kind": "adam", "lr": 1e-2, "beta2": 0.9, "weight_decay": 1e-2, "amsgrad": True},
                     lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.9, 0.9), weight_decay=1e-2, amsgrad=True)),
    "adam_decay_amsgrad_maximize": ({"kind": "adam", "lr": 1e-2, "beta2": 0.9, "weight_decay": 1e-2, "amsgrad": True,
                                     "maximize": True},
                                    lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.9, 0.9), weight_decay=1e-2,
                                                                amsgrad=True, maximize=True)),
    "adamw_amsgrad_maximize": ({"kind": "adamw", "lr": 1e-2, "beta2": 0.9, "amsgrad": True, "maximize": True},
                               lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.9), amsgrad=True,
                                                            maximize=True)),
}


def schedule(make, steps=20, momentum=False):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return {"lr": lrs, "momentum": moms if momentum else []}


S = torch.optim.lr_scheduler
schedules = {
    "step": schedule(lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
    "multistep": schedule(lambda o: S.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
    "cosine": schedule(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), steps=10),
    "linear": schedule(lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4)),
    "onecycle": schedule(lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), momentum=True),
    "warmup_cosine": schedule(lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=3), S.CosineAnnealingLR(o, T_max=10)],
        milestones=[3]), steps=13),
}

def averaged_model_cases():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).double()
    snapshots = []
    for k in range(4):
        state = {name: torch.randn_like(t) for name, t in model.state_dict().items() if t.is_floating_point()}
        state["1.running_var"] = state["1.running_var"].abs() + 0.5
        state["1.num_batches_tracked"] = torch.tensor(10 * (k + 1))
        snapshots.append(state)
    swa = torch.optim.swa_utils.AveragedModel
    ema = lambda average, current, n: 0.9 * average + (1 - 0.9) * current  # get_ema_avg_fn(0.9) of later versions
    makers = {
        "swa": lambda m: swa(m),
        "ema": lambda m: swa(m, avg_fn=ema),
        "swa_buffers": lambda m: swa(m, use_buffers=True),
    }
    cases = {}
    for name, make in makers.items():
        averaged = make(model)
        states = []
        for state in snapshots:
            model.load_state_dict(state)
            averaged.update_parameters(model)
            states.append({k: t.flatten().tolist() for k, t in averaged.module.state_dict().items()
                           if t.is_floating_point()})
        cases[name] = states
    return {"snapshots": [{k: t.flatten().tolist() for k, t in s.items()} for s in snapshots], "cases": cases}


out = {
    "torch_version": torch.__version__,
    "steps": STEPS,
    "shapes": SHAPES,
    "p0": [p.flatten().tolist() for p in p0],
    "noise": [[n.flatten().tolist() for n in step] for step in noise],
    "optimizers": {name: {"config": cfg, "params": run(make)} for name, (cfg, make) in optimizers.items()},
    "schedules": schedules,
    "averaged_model": averaged_model_cases(),
}
path = pathlib.Path(__file__).resolve().parent.parent / "tests/optim/testdata/optim_fixtures.json"
path.write_text(json.dumps(out))
print(f"wrote {path}")

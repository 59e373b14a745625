#ifndef NORMGRAD_NORMGRAD_H_
#define NORMGRAD_NORMGRAD_H_

// The one header a normgrad user includes: tensors, autograd, the nn layers and functions, optimizers and
// schedules, checkpoints and datasets. Everything lives in namespace normgrad (write
// `namespace ng = normgrad;`); layers in ng::nn, functions in ng::nn::functional, optimizers in ng::optim.
// Depend on the Bazel target @normgrad//:normgrad.

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/cpu/conv.h"  // cpu::SetAllowWinograd
#include "core/random.h"
#include "core/state_dict.h"
#include "core/tensor.h"
#include "data/cifar10.h"
#include "data/cifar10_fetch.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "data/trivial_augment.h"
#include "nn/activation.h"
#include "nn/checkpoint.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/flatten.h"
#include "nn/functional/activation.h"
#include "nn/functional/conv.h"
#include "nn/functional/dropout.h"
#include "nn/functional/loss.h"
#include "nn/functional/normalization.h"
#include "nn/functional/pooling.h"
#include "nn/functional/shortcut.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/pooling.h"
#include "nn/resnet.h"
#include "nn/safetensors.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/lr_scheduler.h"
#include "optim/param_groups.h"
#include "optim/sgd.h"

#endif  // NORMGRAD_NORMGRAD_H_

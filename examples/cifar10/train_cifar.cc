// train_cifar: trains a ResNet on CIFAR-10 from the command line. See --help.
//
//   bazel run //examples/cifar10:train_cifar -- --data_dir=/path/to/cifar10 --epochs=30
//
// Writes into --checkpoint_dir: latest.safetensors (every epoch), best.safetensors (when the validation accuracy
// improves), metrics.jsonl (one JSON object per epoch, then the per-class accuracies) and curves.svg (loss and accuracy
// per epoch; open it in a browser). Ctrl-C saves a checkpoint after the current batch and exits; --resume continues.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "examples/cifar10/config.h"
#include "examples/cifar10/interrupt.h"
#include "examples/cifar10/trainer.h"

namespace {
const normgrad::cifar10::TrainConfig kDefaults;
}  // namespace

ABSL_FLAG(std::string, data_dir, kDefaults.data_dir,
          "Folder with CIFAR-10's data_batch_1.bin ... data_batch_5.bin (and test_batch.bin, used when present), "
          "directly or in its cifar-10-batches-bin/ subfolder. When absent, the official archive is downloaded "
          "there (MD5-checked) unless --nodownload.");
ABSL_FLAG(bool, download, kDefaults.download, "Download CIFAR-10 into --data_dir when it is not there.");
ABSL_FLAG(std::string, model, kDefaults.model,
          "resnet20, resnet32, resnet44, resnet56, resnet110 (He et al. 2016, CIFAR variants, option-A shortcuts) "
          "or resnet18 (the ImageNet ResNet-18 adapted to 32x32 images).");
ABSL_FLAG(int64_t, epochs, kDefaults.epochs, "Passes over the training images.");
ABSL_FLAG(int64_t, batch_size, kDefaults.batch_size, "Training images per SGD step.");
ABSL_FLAG(double, lr, kDefaults.lr, "Peak learning rate (what the schedule starts from after its warm-up).");
ABSL_FLAG(std::string, schedule, kDefaults.schedule,
          "Learning-rate schedule, stepped every batch: cosine (annealing to 0 at the end), multistep (times "
          "--gamma at each of --milestones) or onecycle (PyTorch's OneCycleLR peaking at --lr, momentum cycled).");
ABSL_FLAG(double, warmup_epochs, kDefaults.warmup_epochs,
          "Linear warm-up from lr/10 to lr over this many epochs (fractions allowed); for onecycle, the length "
          "of its rising phase (0: 30% of the run).");
ABSL_FLAG(std::vector<std::string>, milestones, {},
          "multistep: comma-separated epochs after which the learning rate is multiplied by --gamma "
          "(default: 50% and 75% of --epochs, as He et al.).");
ABSL_FLAG(double, gamma, kDefaults.gamma, "multistep: the factor applied at each milestone.");
ABSL_FLAG(double, momentum, kDefaults.momentum, "SGD momentum (onecycle: its highest value).");
ABSL_FLAG(bool, nesterov, kDefaults.nesterov, "Nesterov momentum.");
ABSL_FLAG(double, weight_decay, kDefaults.weight_decay,
          "L2 weight decay of convolution and linear weights (batch norm parameters and biases get none unless "
          "--norm_weight_decay).");
ABSL_FLAG(bool, norm_weight_decay, kDefaults.norm_weight_decay,
          "Apply --weight_decay to every parameter, batch norm weights and biases included.");
ABSL_FLAG(double, label_smoothing, kDefaults.label_smoothing,
          "Label smoothing e for the training loss: targets put 1 - e + e/10 on the label and e/10 on every "
          "other class (0: plain cross-entropy; evaluation always reports plain cross-entropy).");
ABSL_FLAG(bool, augment, kDefaults.augment, "Random crops (4-pixel zero padding) and horizontal flips.");
ABSL_FLAG(int64_t, cutout, kDefaults.cutout,
          "Cutout: also blank a square of this many pixels a side, centred on a random pixel of each training "
          "image (DeVries & Taylor 2017 use 16 for CIFAR-10); 0: none.");
ABSL_FLAG(int64_t, cutout_epochs, kDefaults.cutout_epochs,
          "With --cutout: cut out in the first N epochs only, so that the last ones (at the schedule's lowest "
          "learning rates) train on whole images, as the model is evaluated; 0: in every epoch.");
ABSL_FLAG(bool, trivial_augment, kDefaults.trivial_augment,
          "TrivialAugment Wide (Mueller & Hutter 2021, as torchvision's TrivialAugmentWide): one of 14 image "
          "operations (shears, shifts, rotation, brightness, colour, contrast, sharpness, posterize, solarize, "
          "autocontrast, equalize, or none) at a random strength on each training image, before the crop and flip.");
ABSL_FLAG(double, mixup, kDefaults.mixup,
          "Mixup (Zhang et al. 2018): blend each training batch with a shuffled copy of itself, every image "
          "lambda of its own and 1 - lambda of a partner's, lambda ~ Beta(a, a) drawn per batch, and train on "
          "targets mixed the same way. a: this value (0.2 to 1 in the paper; 0: none). The training accuracy "
          "then counts each image by the share of its label.");
ABSL_FLAG(int64_t, mixup_epochs, kDefaults.mixup_epochs,
          "With --mixup: mix in the first N epochs only, so that the last ones train on unmixed images; "
          "0: in every epoch.");
ABSL_FLAG(int64_t, average_epochs, kDefaults.average_epochs,
          "Stochastic weight averaging: average the weights at the ends of the last N epochs (equal weights) "
          "and report the final evaluation for the average, its batch norm statistics taken again over the "
          "training images as the last epoch augmented them. The trained model itself is unchanged; both are "
          "saved. Without --swa_lr it can be added to a run when resuming it, until averaging begins. With "
          "--evaluate_only, evaluates the latest checkpoint's average. 0: none.");
ABSL_FLAG(double, swa_lr, kDefaults.swa_lr,
          "With --schedule=cosine and --average_epochs: anneal to this learning rate by the start of the "
          "averaging and hold it there to the end (Izmailov et al. 2018), instead of annealing to 0 at the end. "
          "0: none.");
ABSL_FLAG(uint64_t, seed, kDefaults.seed,
          "Seeds the initial weights, the shuffling and the augmentation: the same seed and thread count give "
          "the same run, bit for bit.");
ABSL_FLAG(int, threads, kDefaults.threads,
          "Kernel threads, at most 1024 (0: every core; with --resume, the checkpoint's count, which an exact "
          "continuation needs).");
ABSL_FLAG(bool, winograd, kDefaults.winograd,
          "Run the 3 x 3 stride-1 convolutions of up to 64 channels on the CPU (all of a resnet6n+2's but the "
          "stem; resnet18's first stage) by Winograd F(4x4, 3x3), about twice as fast as "
          "the direct kernels with rounding errors 2 to 10 times theirs (still below 1e-5 of a result's "
          "scale). As with --threads, a resumed run continues exactly only with the same setting.");
ABSL_FLAG(int, loader_workers, kDefaults.loader_workers,
          "Background threads that prepare the next batches while the model trains, at most 64 (0: prepare in the "
          "loop).");
ABSL_FLAG(std::string, device, kDefaults.device,
          "Where to train: cpu, or cuda / cuda:<index> in a build with --config=cuda (the data is read and "
          "augmented on the CPU either way).");
ABSL_FLAG(std::string, checkpoint_dir, kDefaults.checkpoint_dir,
          "Folder for latest.safetensors, best.safetensors, metrics.jsonl and curves.svg (created if needed).");
ABSL_FLAG(bool, resume, kDefaults.resume,
          "Continue the run saved in --checkpoint_dir/latest.safetensors exactly where it stopped (the other "
          "training flags must match the checkpoint's; --epochs included).");
ABSL_FLAG(bool, overwrite, kDefaults.overwrite,
          "Start a new run in a --checkpoint_dir that holds an earlier one, deleting its latest and best "
          "checkpoints, metrics log and chart first (without it, a new run there stops with an error: nothing "
          "is overwritten by a forgotten --resume).");
ABSL_FLAG(bool, evaluate_only, kDefaults.evaluate_only,
          "Do not train: evaluate the best checkpoint in --checkpoint_dir (the latest if there is no best, or "
          "with --average_epochs the latest's average) on the validation and test images and print per-class "
          "accuracy. --val_split must be the run's (with --average_epochs also its augmentation flags, "
          "--max_train_batches, --epochs, --batch_size and --seed, which the average's batch norm statistics "
          "depend on).");
ABSL_FLAG(bool, flip_tta, kDefaults.flip_tta,
          "Test-time augmentation: evaluate each validation and test image and its mirror image and average "
          "the two logits (twice the evaluation time; training is unchanged).");
ABSL_FLAG(int64_t, tta_shift, kDefaults.tta_shift,
          "Test-time augmentation in the final evaluation (the per-class report at the end of training, and "
          "--evaluate_only): also average the logits of each image moved this many pixels up, down, left and "
          "right, border filled as the training crops' padding (each with its mirror image under --flip_tta: "
          "10 views). The per-epoch validation keeps to --flip_tta's views; training is unchanged. 0: none.");
ABSL_FLAG(bool, tta_diagonals, kDefaults.tta_diagonals,
          "With --tta_shift: also the four diagonal shifts (up-left, up-right, down-left, down-right by that "
          "many pixels each way), a 3 x 3 grid of positions: 9 views, 18 with --flip_tta.");
ABSL_FLAG(int64_t, val_split, kDefaults.val_split,
          "Training images held out for validation: the last ones of the training files (of data_batch_5.bin "
          "up to 10000, then reaching into data_batch_4.bin); 0: none.");
ABSL_FLAG(int64_t, val_every, kDefaults.val_every,
          "Evaluate on the validation (and test) images after every N-th epoch and after the last, not after "
          "each: with --flip_tta the per-epoch validation of 5,000 images costs about 7% of a ResNet-20 epoch. "
          "The best checkpoint is chosen among the evaluated epochs (with --val_split=0, by training accuracy, "
          "from every epoch).");
ABSL_FLAG(int64_t, max_train_batches, kDefaults.max_train_batches,
          "Train on only the first N batches' worth of images each epoch (smoke runs); 0: all.");
ABSL_FLAG(int64_t, eval_batch_size, kDefaults.eval_batch_size, "Images per batch when evaluating.");

namespace {

// Relative paths name places in the folder `bazel run` was started from, not in the runfiles tree.
std::string FromWorkingDirectory(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || !cwd || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(cwd) / path).string();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "train_cifar: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains a ResNet on CIFAR-10 with SGD and writes checkpoints, a JSON-lines metrics log and an SVG chart "
      "of the loss and accuracy curves.\n"
      "  bazel run //examples/cifar10:train_cifar -- --data_dir=DIR [--model=resnet20 --epochs=30 ...]\n"
      "Ctrl-C saves a checkpoint after the current batch and exits; --resume continues from it.");
  absl::ParseCommandLine(argc, argv);

  normgrad::cifar10::TrainConfig c;
  c.data_dir = FromWorkingDirectory(absl::GetFlag(FLAGS_data_dir));
  c.download = absl::GetFlag(FLAGS_download);
  c.val_split = absl::GetFlag(FLAGS_val_split);
  c.val_every = absl::GetFlag(FLAGS_val_every);
  c.max_train_batches = absl::GetFlag(FLAGS_max_train_batches);
  c.augment = absl::GetFlag(FLAGS_augment);
  c.cutout = absl::GetFlag(FLAGS_cutout);
  c.cutout_epochs = absl::GetFlag(FLAGS_cutout_epochs);
  c.trivial_augment = absl::GetFlag(FLAGS_trivial_augment);
  c.mixup = absl::GetFlag(FLAGS_mixup);
  c.mixup_epochs = absl::GetFlag(FLAGS_mixup_epochs);
  c.average_epochs = absl::GetFlag(FLAGS_average_epochs);
  c.swa_lr = absl::GetFlag(FLAGS_swa_lr);
  c.loader_workers = absl::GetFlag(FLAGS_loader_workers);
  c.model = absl::GetFlag(FLAGS_model);
  c.epochs = absl::GetFlag(FLAGS_epochs);
  c.batch_size = absl::GetFlag(FLAGS_batch_size);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.schedule = absl::GetFlag(FLAGS_schedule);
  c.warmup_epochs = absl::GetFlag(FLAGS_warmup_epochs);
  for (const std::string& m : absl::GetFlag(FLAGS_milestones)) {
    char* end = nullptr;
    const long long epoch = std::strtoll(m.c_str(), &end, 10);
    if (m.empty() || *end != '\0') return Fail("--milestones: expected comma-separated epochs, got \"" + m + "\"");
    c.milestones.push_back(epoch);
  }
  c.gamma = absl::GetFlag(FLAGS_gamma);
  c.momentum = absl::GetFlag(FLAGS_momentum);
  c.nesterov = absl::GetFlag(FLAGS_nesterov);
  c.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  c.norm_weight_decay = absl::GetFlag(FLAGS_norm_weight_decay);
  c.label_smoothing = absl::GetFlag(FLAGS_label_smoothing);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.winograd = absl::GetFlag(FLAGS_winograd);
  c.device = absl::GetFlag(FLAGS_device);
  c.checkpoint_dir = FromWorkingDirectory(absl::GetFlag(FLAGS_checkpoint_dir));
  c.resume = absl::GetFlag(FLAGS_resume);
  c.overwrite = absl::GetFlag(FLAGS_overwrite);
  c.evaluate_only = absl::GetFlag(FLAGS_evaluate_only);
  c.flip_tta = absl::GetFlag(FLAGS_flip_tta);
  c.tta_shift = absl::GetFlag(FLAGS_tta_shift);
  c.tta_diagonals = absl::GetFlag(FLAGS_tta_diagonals);
  c.eval_batch_size = absl::GetFlag(FLAGS_eval_batch_size);

  absl::StatusOr<std::unique_ptr<normgrad::cifar10::Trainer>> trainer = normgrad::cifar10::Trainer::Create(c);
  if (!trainer.ok()) return Fail(std::string(trainer.status().message()));
  // Until training starts, Ctrl-C keeps its default action and stops the program at once: setup has
  // nothing to save (a download goes to a temporary name). --evaluate_only saves nothing at all.
  if (!c.evaluate_only) normgrad::cifar10::InstallInterruptHandler();
  absl::StatusOr<normgrad::cifar10::RunResult> result = (*trainer)->Run();
  if (!result.ok()) return Fail(std::string(result.status().message()));
  return result->interrupted ? 128 + SIGINT : 0;  // as a shell reports a process Ctrl-C ended
}

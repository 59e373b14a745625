#ifndef NORMGRAD_EXAMPLES_CIFAR10_PROGRESS_H_
#define NORMGRAD_EXAMPLES_CIFAR10_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace normgrad::cifar10 {

// "0:42", "12:05", "1:02:03".
std::string FormatDuration(double seconds);

// Where training stands, for one progress line.
struct ProgressState {
  int64_t epoch = 0;    // 0-based epoch in progress
  int64_t epochs = 0;
  int64_t batch = 0;    // batches of this epoch done
  int64_t batches = 0;  // batches per epoch
  double loss = 0;      // running mean over the epoch
  double accuracy = 0;  // running, in [0, 1]
  double images_per_second = 0;
  double seconds_left = 0;  // for the whole run, evaluation included
};

// The line for `s`. On a terminal (`bar`): a bar of `width` cells and the figures, redrawn in place;
// otherwise the figures alone:
//   epoch 3/30 [#######.............]  120/351  loss 1.2345  acc 55.21%  612 img/s  left 45:10
std::string ProgressLine(const ProgressState& s, bool bar, int width = 24);

// Reports training progress. On a terminal (isatty) one line is redrawn in place after every batch
// ("\r" and clear-to-end-of-line); anywhere else (a log file, a pipe) a plain line is printed every
// `plain_every` batches and at the epoch's end, so that logs stay short and readable.
class Progress {
 public:
  Progress(std::FILE* out, bool terminal, int64_t epochs, int64_t batches_per_epoch, int64_t plain_every = 50);

  // Starts timing an epoch that begins at batch `first_batch` (> 0 when resuming mid-epoch).
  void StartEpoch(int64_t epoch, int64_t first_batch);
  // After each batch: `batch` batches of the epoch are done, `images` images trained on since
  // StartEpoch; loss and accuracy are the epoch's running values. `eval_seconds_left`, the evaluations'
  // time still to come, is added to the estimate of the time left.
  void Batch(int64_t batch, int64_t images, double loss, double accuracy, double eval_seconds_left);
  // Ends the in-place line (on a terminal) and prints `summary` on a line of its own.
  void Print(const std::string& summary);

  // Training images per second since StartEpoch.
  double images_per_second() const;

 private:
  std::FILE* out_;
  bool terminal_;
  int64_t epochs_, batches_per_epoch_, plain_every_;
  int64_t epoch_ = 0, first_batch_ = 0, images_ = 0;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_PROGRESS_H_

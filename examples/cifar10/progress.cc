#include "examples/cifar10/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace normgrad::cifar10 {

std::string FormatDuration(double seconds) {
  const int64_t s = std::max<int64_t>(0, std::llround(seconds));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string ProgressLine(const ProgressState& s, bool bar, int width) {
  std::string line = absl::StrFormat("epoch %d/%d ", s.epoch + 1, s.epochs);
  if (bar) {
    const int filled = s.batches ? static_cast<int>(width * s.batch / s.batches) : 0;
    absl::StrAppend(&line, "[", std::string(filled, '#'), std::string(width - filled, '.'), "] ");
  }
  const int digits = static_cast<int>(std::to_string(s.batches).size());
  absl::StrAppendFormat(&line, "%*d/%d  loss %.4f  acc %.2f%%  %.0f img/s  left %s", digits, s.batch, s.batches,
                        s.loss, 100 * s.accuracy, s.images_per_second, FormatDuration(s.seconds_left));
  return line;
}

Progress::Progress(std::FILE* out, bool terminal, int64_t epochs, int64_t batches_per_epoch, int64_t plain_every)
    : out_(out), terminal_(terminal), epochs_(epochs), batches_per_epoch_(batches_per_epoch),
      plain_every_(std::max<int64_t>(1, plain_every)) {}

void Progress::StartEpoch(int64_t epoch, int64_t first_batch) {
  epoch_ = epoch;
  first_batch_ = first_batch;
  images_ = 0;
  start_ = std::chrono::steady_clock::now();
}

double Progress::images_per_second() const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return seconds > 0 ? static_cast<double>(images_) / seconds : 0;
}

void Progress::Batch(int64_t batch, int64_t images, double loss, double accuracy, double eval_seconds_left) {
  images_ = images;
  const bool last = batch == batches_per_epoch_;
  if (!terminal_ && batch % plain_every_ != 0 && !last) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = batch - first_batch_;
  const double per_batch = done > 0 ? seconds / static_cast<double>(done) : 0;
  const int64_t epochs_after = epochs_ - epoch_ - 1;
  ProgressState s{.epoch = epoch_, .epochs = epochs_, .batch = batch, .batches = batches_per_epoch_,
                  .loss = loss, .accuracy = accuracy, .images_per_second = images_per_second()};
  s.seconds_left = per_batch * static_cast<double>(batches_per_epoch_ - batch + epochs_after * batches_per_epoch_) +
                   eval_seconds_left;
  if (terminal_) {
    std::fprintf(out_, "\r%s\x1b[K", ProgressLine(s, true).c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", ProgressLine(s, false).c_str());
  }
  std::fflush(out_);
}

void Progress::Print(const std::string& summary) {
  if (line_open_) std::fputc('\n', out_);
  line_open_ = false;
  std::fprintf(out_, "%s\n", summary.c_str());
  std::fflush(out_);
}

}  // namespace normgrad::cifar10

#ifndef NORMGRAD_EXAMPLES_CIFAR10_METRICS_H_
#define NORMGRAD_EXAMPLES_CIFAR10_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace normgrad::cifar10 {

// Loss and accuracy summed over a pass (an epoch of training, an evaluation).
struct Tally {
  double loss_sum = 0;  // sum over images of the per-image loss
  double correct = 0;   // images classified right; with mixup, each weighted by the share of its label
  int64_t images = 0;

  void Add(double mean_loss, double batch_correct, int64_t batch_images) {
    loss_sum += mean_loss * static_cast<double>(batch_images);
    correct += batch_correct;
    images += batch_images;
  }
  double loss() const { return images ? loss_sum / static_cast<double>(images) : 0; }
  double accuracy() const { return images ? correct / static_cast<double>(images) : 0; }
};

// One epoch's line of the metrics log. Accuracies are fractions in [0, 1].
struct EpochMetrics {
  int64_t epoch = 0;  // epochs completed (1 after the first)
  int64_t step = 0;   // optimizer steps completed
  double lr = 0;      // the learning rate at the epoch's end: what the next epoch starts with
  double train_loss = 0;
  double train_accuracy = 0;
  std::optional<double> val_loss, val_accuracy, test_loss, test_accuracy;
  double images_per_second = 0;  // training throughput over the epoch
  double data_wait_ms = 0;       // mean time a training step waited for its batch (the loader falling behind)
  double epoch_seconds = 0;      // wall time of the epoch, evaluation included
  double elapsed_seconds = 0;    // wall time of the run so far, across resumes
};

// {"event": "epoch", "epoch": 3, ..., "val_accuracy": 0.71 (null when absent)}.
nlohmann::json ToJson(const EpochMetrics& m);
// The inverse; InvalidArgument naming a missing or mistyped field.
absl::StatusOr<EpochMetrics> EpochMetricsFromJson(const nlohmann::json& j);

// Per-class results of an evaluation.
struct ClassAccuracy {
  std::string name;
  int64_t correct = 0;
  int64_t images = 0;
};
// {"event": "per_class", "split": "val", "classes": [{"name": "cat", "correct": 812, "images": 1000}, ...]}.
nlohmann::json PerClassJson(const std::string& split, const std::vector<ClassAccuracy>& classes);
// A table for people: one line per class with its accuracy, and the mean.
std::string PerClassTable(const std::string& split, const std::vector<ClassAccuracy>& classes);

// One JSON object per line (JSON Lines).
std::string JsonLines(const std::vector<nlohmann::json>& records);

// A self-contained SVG (hand-written, no scripts or external references) with two panels side by side:
// loss and accuracy (%) against the epoch, one line per split that has values (train, val, test), with
// axes, ticks, a legend and `title` above. An empty history gives the axes alone.
std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& history, const std::string& title);

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_METRICS_H_

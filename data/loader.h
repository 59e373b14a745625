#ifndef NORMGRAD_DATA_LOADER_H_
#define NORMGRAD_DATA_LOADER_H_

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/random.h"
#include "core/tensor.h"
#include "data/image_dataset.h"

namespace normgrad::data {

struct LoaderOptions {
  int64_t batch_size = 128;
  // Visit the images in a new random order each epoch (drawn from the loader's seeded generator).
  bool shuffle = true;
  // Leave out the last batch when it would be smaller than batch_size.
  bool drop_last = false;
  // Random crop: pad the image with `crop_padding` black pixels on every side (pixel value 0, before
  // normalization, as torchvision's RandomCrop(padding=4) does) and cut an H x W window at a uniformly
  // drawn offset. 0 turns it off.
  int64_t crop_padding = 0;
  // Mirror each image left-right with probability 1/2 (after the crop).
  bool horizontal_flip = false;
  // Cutout (DeVries & Taylor 2017): after the crop and flip, set a cutout x cutout square centred on a
  // uniformly drawn pixel (clipped where it crosses the border) to 0 in every channel, which after
  // normalization is the channel mean. 0 turns it off; its draws do not move the crops' and flips'.
  int64_t cutout = 0;
  // > 0: cut out in the first cutout_epochs epochs only (0-based epochs below it), so that the last ones
  // train on whole images; 0: in every epoch.
  int64_t cutout_epochs = 0;
  // Whether the images of 0-based `epoch` get cutout under the two settings above.
  bool CutsOutIn(int64_t epoch) const { return cutout > 0 && (cutout_epochs == 0 || epoch < cutout_epochs); }
  // TrivialAugment Wide (data/trivial_augment.h): one random operation on each image before the crop and
  // flip; needs images of 1 or 3 channels. Its draws do not move the crops', flips' and cutouts'.
  bool trivial_augment = false;
  // Mixup (Zhang et al. 2018): > 0 blends each batch, after the other augmentations, with a shuffled copy
  // of itself: image i becomes lambda x_i + (1 - lambda) x_p(i), one lambda ~ Beta(mixup, mixup) and one
  // permutation p per batch. The batch carries p, the labels it brings in and lambda (Batch) for the loss
  // to mix the same way. 0 turns it off; its draws do not move the other augmentations'.
  double mixup = 0;
  // > 0: mix in the first mixup_epochs epochs only; 0: in every epoch.
  int64_t mixup_epochs = 0;
  // Whether the batches of 0-based `epoch` are mixed under the two settings above.
  bool MixesIn(int64_t epoch) const { return mixup > 0 && (mixup_epochs == 0 || epoch < mixup_epochs); }
  // Per-channel normalization of pixel/255: (pixel/255 - mean[c]) / std[c]. Empty: pixel/255 only.
  std::vector<double> mean;
  std::vector<double> std;
  // Background threads preparing batches while the caller trains; 0 prepares each batch in Next().
  int num_workers = 2;
  // How many batches may be prepared ahead of the one being consumed (the queue's bound).
  int prefetch = 4;
  // Seeds the shuffle generator and, with the epoch and batch index, each batch's augmentation stream.
  uint64_t seed = 0;
};

// A batch: images float32 [B, C, H, W] (normalized, augmented), labels int64 [B].
struct Batch {
  Tensor images;
  Tensor labels;
  // Mixup's (LoaderOptions::mixup): image i is mix_weight of image i and 1 - mix_weight of the image
  // mixed_with[i] of the batch, whose label is mix_labels[i] (both int64 [B]). Undefined, and a weight of
  // 1, for a batch that is not mixed.
  Tensor mixed_with;
  Tensor mix_labels;
  double mix_weight = 1;
};

// Where the time went, for checking that training never waits for data.
struct LoaderStats {
  int64_t batches = 0;         // handed out by Next()
  double wait_seconds = 0;     // total time Next() blocked for a batch that was not ready yet
  double max_wait_seconds = 0; // the longest such wait
  // Waits for the first batch after the workers were (re)started cold (the first Next(), after set_state()):
  // there was nothing to prefetch behind, so these are counted apart from wait_seconds.
  double startup_wait_seconds = 0;
  double prepare_seconds = 0;  // total time spent preparing batches, on whatever thread
};

// Turns an ImageDataset into a sequence of epochs of batches.
//
//   DataLoader loader(train, {.batch_size = 128, .crop_padding = 4, .horizontal_flip = true,
//                             .mean = {...}, .std = {...}, .seed = 1});
//   while (std::optional<Batch> b = loader.Next()) { ... b->images, b->labels ... }   // one epoch
//
// Determinism: epoch e's order is a permutation drawn from the shuffle generator, which carries over from
// epoch to epoch; batch b's augmentations come from generators seeded with a hash of (seed, e, b).
// Workers prepare batches in any order and the caller receives them in order, so the batches are the same
// bit for bit whatever num_workers and prefetch are, and across an exact resume (state()/set_state()).
//
// Workers prepare up to `prefetch` batches ahead. When an epoch ends, the next one starts preparing at
// once, so that evaluation between epochs overlaps with it. Not thread-safe: one thread calls Next().
class DataLoader {
 public:
  // Throws normgrad::Error for a batch_size < 1, crop_padding < 0, cutout < 0, cutout_epochs < 0, a mixup
  // that is negative or not finite, mixup_epochs < 0, num_workers < 0, prefetch < 1, mean/std that are not
  // one positive std per channel, or trivial_augment on images of other than 1 or 3 channels.
  DataLoader(std::shared_ptr<const ImageDataset> data, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch of the current epoch, or nullopt when the epoch is over (the following call starts
  // the next epoch). Rethrows an exception raised while preparing the batch.
  std::optional<Batch> Next();

  int64_t num_batches() const { return num_batches_; }
  int64_t epoch() const { return epoch_; }         // the epoch in progress, or the next to start
  int64_t batch_index() const { return next_batch_; }  // batches of epoch() handed out so far
  const ImageDataset& dataset() const { return *data_; }
  const LoaderOptions& options() const { return options_; }
  // Channel c's value of a black pixel (0) after normalization: the crops' padding.
  float black(int64_t c) const { return lut_[c * 256]; }

  // Text that set_state() turns back into this exact position: epoch, batches handed out, and the shuffle
  // generator's state before this epoch's permutation was drawn (the permutation is drawn again).
  std::string state() const;
  // Restores a state(). InvalidArgument (changing nothing) when the text is malformed or the batch index
  // is past this loader's number of batches.
  [[nodiscard]] absl::Status set_state(const std::string& state);

  const LoaderStats& stats() const { return stats_; }
  void ResetStats();

 private:
  void StartEpoch();
  void StopWorkers();
  void WorkerLoop();
  Batch MakeBatch(int64_t epoch, int64_t index);

  std::shared_ptr<const ImageDataset> data_;
  LoaderOptions options_;
  int64_t num_batches_ = 0;
  std::vector<float> lut_;  // lut_[c * 256 + v]: the normalized value of pixel value v in channel c

  // The position, owned by the consumer thread.
  Generator shuffle_;
  std::string epoch_start_state_;  // shuffle_'s state before epoch_'s permutation
  int64_t epoch_ = 0;
  int64_t next_batch_ = 0;
  bool running_ = false;  // epoch_'s permutation is drawn and batches are being prepared
  bool cold_ = true;      // the next batch was not prefetched behind an earlier one
  std::vector<int64_t> order_;  // epoch_'s permutation; read-only while workers run

  // Shared with the workers, under mu_.
  std::mutex mu_;
  std::condition_variable work_cv_;   // workers: a slot in the queue freed up, or stop
  std::condition_variable ready_cv_;  // consumer: a batch is ready, or an error
  std::map<int64_t, Batch> ready_;
  int64_t next_to_prepare_ = 0;
  int64_t consumed_ = 0;  // next_batch_ as the workers see it
  bool stop_ = false;
  std::exception_ptr error_;  // the error of batch error_index_, the first that failed
  int64_t error_index_ = 0;
  double prepare_seconds_ = 0;
  std::vector<std::thread> workers_;

  LoaderStats stats_;
};

// The seed of batch `index`'s augmentation stream in `epoch`: a SplitMix64 hash of the three, so that
// neighbouring batches get unrelated streams.
uint64_t AugmentationSeed(uint64_t seed, int64_t epoch, int64_t index);

}  // namespace normgrad::data

#endif  // NORMGRAD_DATA_LOADER_H_

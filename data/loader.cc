#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <numeric>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/error.h"
#include "data/trivial_augment.h"

namespace normgrad::data {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t SplitMix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

// Stream k of a batch's augmentations: its augmentation seed hashed k more times, so that each kind of
// augmentation draws from a stream of its own and turning one on leaves the others' draws as they were.
Generator AugmentationStream(uint64_t seed, int k) {
  for (int i = 0; i < k; ++i) seed = SplitMix64(seed);
  return Generator(seed);
}

// Blends `batch` with a permutation of itself by a Beta(alpha, alpha) weight (LoaderOptions::mixup).
void MixUp(Generator& gen, double alpha, Batch& batch) {
  const int64_t count = batch.images.size(0), image_floats = batch.images.numel() / count;  // count >= 1
  const double lambda = gen.NextBeta(alpha, alpha);
  batch.mixed_with = randperm(count, &gen);
  batch.mix_labels = empty({count}, {.dtype = kInt64});
  batch.mix_weight = lambda;
  const int64_t* partner = batch.mixed_with.data<int64_t>();
  const int64_t* labels = batch.labels.data<int64_t>();
  int64_t* mix_labels = batch.mix_labels.data<int64_t>();
  Tensor mixed = empty(batch.images.shape());
  const float* in = batch.images.data<float>();
  float* out = mixed.data<float>();
  const float a = static_cast<float>(lambda), b = static_cast<float>(1 - lambda);
  for (int64_t i = 0; i < count; ++i) {
    mix_labels[i] = labels[partner[i]];
    const float* x = in + i * image_floats;
    const float* y = in + partner[i] * image_floats;
    float* o = out + i * image_floats;
    for (int64_t k = 0; k < image_floats; ++k) o[k] = a * x[k] + b * y[k];
  }
  batch.images = std::move(mixed);
}

}  // namespace

uint64_t AugmentationSeed(uint64_t seed, int64_t epoch, int64_t index) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> data, LoaderOptions options)
    : data_(std::move(data)), options_(std::move(options)), shuffle_(options_.seed) {
  NG_CHECK(data_ != nullptr, "DataLoader: expected a data set, got null");
  const ImageDataset& d = *data_;
  NG_CHECK(d.channels >= 1 && d.height >= 1 && d.width >= 1 && d.channels <= (int64_t{1} << 31) / d.height / d.width,
           "DataLoader: expected images of at least 1 x 1 x 1 and at most 2^31 bytes, got ", d.channels, " x ",
           d.height, " x ", d.width);
  NG_CHECK(static_cast<int64_t>(d.pixels.size()) == d.size() * d.image_bytes(), "DataLoader: expected ", d.size(),
           " images of ", d.image_bytes(), " bytes, ", d.size() * d.image_bytes(), " bytes of pixels, got ",
           d.pixels.size());
  const LoaderOptions& o = options_;
  NG_CHECK(o.batch_size >= 1, "DataLoader: expected batch_size >= 1, got ", o.batch_size);
  NG_CHECK(o.crop_padding >= 0, "DataLoader: expected crop_padding >= 0, got ", o.crop_padding);
  NG_CHECK(o.cutout >= 0, "DataLoader: expected cutout >= 0, got ", o.cutout);
  NG_CHECK(o.cutout_epochs >= 0, "DataLoader: expected cutout_epochs >= 0 (0: every epoch), got ", o.cutout_epochs);
  NG_CHECK(o.mixup >= 0 && std::isfinite(o.mixup), "DataLoader: expected a finite mixup >= 0 (0: none), got ", o.mixup);
  NG_CHECK(o.mixup_epochs >= 0, "DataLoader: expected mixup_epochs >= 0 (0: every epoch), got ", o.mixup_epochs);
  NG_CHECK(!o.trivial_augment || d.channels == 1 || d.channels == 3,
           "DataLoader: expected images of 1 or 3 channels for trivial_augment, got ", d.channels);
  NG_CHECK(o.num_workers >= 0, "DataLoader: expected num_workers >= 0, got ", o.num_workers);
  NG_CHECK(o.prefetch >= 1, "DataLoader: expected prefetch >= 1, got ", o.prefetch);
  NG_CHECK(o.mean.size() == o.std.size() && (o.mean.empty() || static_cast<int64_t>(o.mean.size()) == data_->channels),
           "DataLoader: expected one mean and one std per channel (", data_->channels, "), got ", o.mean.size(),
           " means and ", o.std.size(), " stds");
  for (double s : o.std) NG_CHECK(s > 0, "DataLoader: expected std > 0, got ", s);

  const int64_t n = data_->size();
  num_batches_ = n / o.batch_size + (!o.drop_last && n % o.batch_size != 0);
  // In float32, in torchvision's order (ToTensor divides by 255, Normalize subtracts and divides), so a
  // batch holds the values a PyTorch pipeline computes from the same pixels.
  lut_.resize(data_->channels * 256);
  for (int64_t c = 0; c < data_->channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v) / 255.0f;
      if (!o.mean.empty()) x = (x - static_cast<float>(o.mean[c])) / static_cast<float>(o.std[c]);
      lut_[c * 256 + v] = x;
    }
  }
  epoch_start_state_ = shuffle_.state();
}

DataLoader::~DataLoader() { StopWorkers(); }

void DataLoader::StartEpoch() {
  // Drawn from the epoch's starting state, so that restarting an epoch (after set_state or an error)
  // draws the same permutation.
  NG_CHECK(shuffle_.set_state(epoch_start_state_).ok(), "DataLoader: internal error restoring the shuffle state");
  if (options_.shuffle) {
    order_ = randperm(data_->size(), &shuffle_).to_vector<int64_t>();
  } else {
    order_.resize(data_->size());
    std::iota(order_.begin(), order_.end(), 0);
  }
  {
    std::lock_guard lock(mu_);
    ready_.clear();
    next_to_prepare_ = consumed_ = next_batch_;
    stop_ = false;
    error_ = nullptr;
  }
  try {
    for (int w = 0; w < options_.num_workers; ++w) workers_.emplace_back([this] { WorkerLoop(); });
  } catch (...) {
    StopWorkers();  // those that started, before a later call rewrites the order they read
    throw;
  }
  running_ = true;
}

void DataLoader::StopWorkers() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void DataLoader::WorkerLoop() {
  while (true) {
    int64_t index;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] {
        return stop_ || next_to_prepare_ >= num_batches_ || next_to_prepare_ < consumed_ + options_.prefetch;
      });
      if (stop_ || next_to_prepare_ >= num_batches_) return;
      index = next_to_prepare_++;
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      Batch batch = MakeBatch(epoch_, index);
      std::lock_guard lock(mu_);
      ready_.emplace(index, std::move(batch));
      prepare_seconds_ += SecondsSince(start);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!error_ || index < error_index_) error_ = std::current_exception(), error_index_ = index;
    }
    ready_cv_.notify_one();
  }
}

std::optional<Batch> DataLoader::Next() {
  if (!running_) StartEpoch();
  if (next_batch_ == num_batches_) {
    StopWorkers();
    running_ = false;  // until the next epoch has started
    ++epoch_;
    next_batch_ = 0;
    epoch_start_state_ = shuffle_.state();
    // The next epoch's workers start now, to prefetch while the caller evaluates. If the system refuses
    // them, this epoch still ends here: the next call starts them again and reports the error then.
    try {
      StartEpoch();
    } catch (const std::exception&) {
    }
    return std::nullopt;
  }
  const auto start = std::chrono::steady_clock::now();
  Batch batch;
  if (workers_.empty()) {
    batch = MakeBatch(epoch_, next_batch_);
    stats_.prepare_seconds += SecondsSince(start);
  } else {
    std::unique_lock lock(mu_);
    // The batches before a failed one are handed out first: its error comes with it.
    ready_cv_.wait(lock, [&] { return ready_.count(next_batch_) > 0 || (error_ && error_index_ == next_batch_); });
    if (ready_.count(next_batch_) == 0) {
      const std::exception_ptr error = error_;
      lock.unlock();
      StopWorkers();
      running_ = false;
      std::rethrow_exception(error);
    }
    batch = std::move(ready_.extract(next_batch_).mapped());
    consumed_ = next_batch_ + 1;
    stats_.prepare_seconds = prepare_seconds_;
  }
  // Measured before waking the workers: a worker that then takes the core is CPU sharing, not waiting.
  const double waited = SecondsSince(start);
  work_cv_.notify_all();
  if (cold_) {
    stats_.startup_wait_seconds += waited;
  } else {
    stats_.wait_seconds += waited;
    stats_.max_wait_seconds = std::max(stats_.max_wait_seconds, waited);
  }
  cold_ = false;
  ++next_batch_;
  ++stats_.batches;
  return batch;
}

Batch DataLoader::MakeBatch(int64_t epoch, int64_t index) {
  const ImageDataset& d = *data_;
  const int64_t begin = index * options_.batch_size;
  const int64_t count = std::min(options_.batch_size, d.size() - begin);
  const int64_t C = d.channels, H = d.height, W = d.width, pad = options_.crop_padding;
  Batch batch{empty({count, C, H, W}), empty({count}, {.dtype = kInt64})};
  float* out = batch.images.data<float>();
  int64_t* labels = batch.labels.data<int64_t>();
  const uint64_t seed = AugmentationSeed(options_.seed, epoch, index);
  Generator augment = AugmentationStream(seed, 0);  // crops and flips
  Generator cutout = AugmentationStream(seed, 1);
  Generator trivial = AugmentationStream(seed, 2);
  std::vector<uint8_t> augmented(options_.trivial_augment ? d.image_bytes() : 0);
  const bool cut_out = options_.CutsOutIn(epoch);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t item = order_[begin + i];
    const uint8_t* src = d.image(item);
    if (options_.trivial_augment) {
      TrivialAugment(trivial, src, augmented.data(), {C, H, W});
      src = augmented.data();
    }
    labels[i] = d.labels[item];
    // The crop window's top-left corner in the padded image; `pad` each way means no shift.
    const int64_t dy = pad ? static_cast<int64_t>(augment.NextBelow(2 * pad + 1)) : 0;
    const int64_t dx = pad ? static_cast<int64_t>(augment.NextBelow(2 * pad + 1)) : 0;
    const bool flip = options_.horizontal_flip && augment.NextBelow(2) == 1;
    for (int64_t c = 0; c < C; ++c) {
      const float* lut = &lut_[c * 256];
      for (int64_t y = 0; y < H; ++y) {
        float* row = out + ((i * C + c) * H + y) * W;
        const int64_t sy = y + dy - pad;
        if (sy < 0 || sy >= H) {
          std::fill(row, row + W, lut[0]);
          continue;
        }
        const uint8_t* src_row = src + (c * H + sy) * W;
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (flip ? W - 1 - x : x) + dx - pad;
          row[x] = sx >= 0 && sx < W ? lut[src_row[sx]] : lut[0];
        }
      }
    }
    if (cut_out) {
      const int64_t y0 = static_cast<int64_t>(cutout.NextBelow(H)) - options_.cutout / 2;
      const int64_t x0 = static_cast<int64_t>(cutout.NextBelow(W)) - options_.cutout / 2;
      const int64_t x_begin = std::max<int64_t>(x0, 0), x_end = std::min(x0 + options_.cutout, W);
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t y = std::max<int64_t>(y0, 0); y < std::min(y0 + options_.cutout, H); ++y) {
          float* row = out + ((i * C + c) * H + y) * W;
          std::fill(row + x_begin, row + x_end, 0.0f);
        }
      }
    }
  }
  if (options_.MixesIn(epoch)) {
    Generator mix = AugmentationStream(seed, 3);
    MixUp(mix, options_.mixup, batch);
  }
  return batch;
}

void DataLoader::ResetStats() {
  std::lock_guard lock(mu_);
  prepare_seconds_ = 0;
  stats_ = LoaderStats();
}

std::string DataLoader::state() const { return absl::StrCat(epoch_, " ", next_batch_, " ", epoch_start_state_); }

absl::Status DataLoader::set_state(const std::string& state) {
  std::istringstream in(state);
  int64_t epoch = -1, batch = -1;
  in >> epoch >> batch;
  std::string generator_state;
  std::getline(in >> std::ws, generator_state);
  Generator restored;
  if (in.bad() || epoch < 0 || batch < 0 || !restored.set_state(generator_state).ok()) {
    return absl::InvalidArgumentError(absl::StrCat("DataLoader::set_state: malformed state \"", state.substr(0, 80),
                                                   state.size() > 80 ? "...\"" : "\""));
  }
  if (batch > num_batches_) {
    return absl::InvalidArgumentError(absl::StrCat("DataLoader::set_state: the state is at batch ", batch,
                                                   " of an epoch but this loader has ", num_batches_,
                                                   " batches per epoch (another batch size or data set?)"));
  }
  StopWorkers();
  epoch_ = epoch;
  next_batch_ = batch;
  epoch_start_state_ = restored.state();
  running_ = false;
  cold_ = true;
  return absl::OkStatus();
}

}  // namespace normgrad::data

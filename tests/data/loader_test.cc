#include "data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <thread>

#include "core/error.h"

namespace normgrad::data {
namespace {

// n images of C x H x W whose first pixel is the image's index (so batches can be traced back) and whose
// other pixels vary with position.
std::shared_ptr<const ImageDataset> Synthetic(int64_t n, int64_t c = 3, int64_t h = 6, int64_t w = 5) {
  auto d = std::make_shared<ImageDataset>();
  d->channels = c;
  d->height = h;
  d->width = w;
  d->num_classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    d->labels.push_back(static_cast<uint8_t>(i % 10));
    for (int64_t k = 0; k < c * h * w; ++k)
      d->pixels.push_back(static_cast<uint8_t>(k == 0 ? i : 1 + (k * 37 + i) % 255));
  }
  return d;
}

std::vector<Batch> Epoch(DataLoader& loader) {
  std::vector<Batch> batches;
  while (std::optional<Batch> b = loader.Next()) batches.push_back(std::move(*b));
  return batches;
}

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * ItemSize(a.dtype())) == 0;
}

void ExpectSameBatches(const std::vector<Batch>& a, const std::vector<Batch>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(SameBits(a[i].images, b[i].images)) << what << ": batch " << i;
    EXPECT_TRUE(SameBits(a[i].labels, b[i].labels)) << what << ": batch " << i;
    EXPECT_EQ(a[i].mix_weight, b[i].mix_weight) << what << ": batch " << i;
    ASSERT_EQ(a[i].mixed_with.defined(), b[i].mixed_with.defined()) << what << ": batch " << i;
    if (a[i].mixed_with.defined()) {
      EXPECT_TRUE(SameBits(a[i].mixed_with, b[i].mixed_with)) << what << ": batch " << i;
      EXPECT_TRUE(SameBits(a[i].mix_labels, b[i].mix_labels)) << what << ": batch " << i;
    }
  }
}

const LoaderOptions kAugmented = {.batch_size = 8,
                                  .crop_padding = 2,
                                  .horizontal_flip = true,
                                  .mean = {0.5, 0.4, 0.3},
                                  .std = {0.2, 0.25, 0.3},
                                  .seed = 7};

TEST(DataLoader, BatchesShapesAndCounts) {
  auto data = Synthetic(21);
  DataLoader loader(data, {.batch_size = 8, .shuffle = false, .num_workers = 2});
  EXPECT_EQ(loader.num_batches(), 3);
  std::vector<Batch> batches = Epoch(loader);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].images.shape(), (Shape{8, 3, 6, 5}));
  EXPECT_EQ(batches[0].images.dtype(), kFloat32);
  EXPECT_EQ(batches[2].images.shape(), (Shape{5, 3, 6, 5}));
  EXPECT_EQ(batches[2].labels.dtype(), kInt64);
  EXPECT_EQ(batches[2].labels.to_vector<int64_t>(), (std::vector<int64_t>{6, 7, 8, 9, 0}));
  EXPECT_EQ(loader.epoch(), 1);
  EXPECT_EQ(loader.stats().batches, 3);

  DataLoader dropping(data, {.batch_size = 8, .drop_last = true});
  EXPECT_EQ(dropping.num_batches(), 2);
  EXPECT_EQ(Epoch(dropping).size(), 2u);
}

TEST(DataLoader, NormalizesAsTorchvisionDoes) {
  auto data = Synthetic(4);
  const std::vector<double> mean = {0.4914, 0.4822, 0.4465}, std = {0.2470, 0.2435, 0.2616};
  DataLoader loader(data, {.batch_size = 4, .shuffle = false, .mean = mean, .std = std, .num_workers = 0});
  const Batch b = *loader.Next();
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t y = 0; y < 6; ++y) {
        for (int64_t x = 0; x < 5; ++x) {
          const uint8_t v = data->image(i)[(c * 6 + y) * 5 + x];
          // ToTensor then Normalize, in float32.
          const float expected =
              (static_cast<float>(v) / 255.0f - static_cast<float>(mean[c])) / static_cast<float>(std[c]);
          ASSERT_EQ(b.images.at<float>({i, c, y, x}), expected) << i << c << y << x;
        }
      }
    }
  }
  DataLoader raw(data, {.batch_size = 1, .shuffle = false, .num_workers = 0});
  EXPECT_EQ(raw.Next()->images.at<float>({0, 0, 0, 1}), static_cast<float>(data->image(0)[1]) / 255.0f);
}

TEST(DataLoader, ShuffleVisitsEveryImageOncePerEpochInANewOrder) {
  auto data = Synthetic(50);
  DataLoader loader(data, {.batch_size = 7, .seed = 3});
  std::vector<std::vector<int64_t>> orders;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> order;
    for (const Batch& b : Epoch(loader)) {
      for (int64_t i = 0; i < b.images.size(0); ++i) {
        const int64_t id = std::lround(b.images.at<float>({i, 0, 0, 0}) * 255);
        order.push_back(id);
        EXPECT_EQ(b.labels.at<int64_t>({i}), id % 10);
      }
    }
    EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 50u);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
}

// Finds the crop offset and flip that turn image `src` into `out` (a [C, H, W] slice of a batch); false
// when none does.
// `value(c, v)` is the batch value of pixel value v in channel c; the padding has pixel value 0.
bool FindAugmentation(const ImageDataset& d, int64_t src, const Batch& b, int64_t i, int64_t pad,
                      const std::function<float(int64_t, int)>& value, int* dy_out, int* dx_out, bool* flip_out) {
  for (int dy = 0; dy <= 2 * pad; ++dy) {
    for (int dx = 0; dx <= 2 * pad; ++dx) {
      for (bool flip : {false, true}) {
        bool match = true;
        for (int64_t c = 0; c < d.channels && match; ++c) {
          for (int64_t y = 0; y < d.height && match; ++y) {
            for (int64_t x = 0; x < d.width && match; ++x) {
              const int64_t sy = y + dy - pad, sx = (flip ? d.width - 1 - x : x) + dx - pad;
              const bool inside = sy >= 0 && sy < d.height && sx >= 0 && sx < d.width;
              const float want = value(c, inside ? d.image(src)[(c * d.height + sy) * d.width + sx] : 0);
              match = b.images.at<float>({i, c, y, x}) == want;
            }
          }
        }
        if (match) {
          *dy_out = dy, *dx_out = dx, *flip_out = flip;
          return true;
        }
      }
    }
  }
  return false;
}

TEST(DataLoader, RandomCropWithZeroPaddingAndFlips) {
  auto data = Synthetic(200, 2, 6, 5);
  const int64_t pad = 2;
  DataLoader loader(data,
                    {.batch_size = 50, .shuffle = false, .crop_padding = pad, .horizontal_flip = true, .seed = 1});
  auto unnormalized = [](int64_t, int v) { return static_cast<float>(v) / 255.0f; };
  std::set<std::pair<int, int>> offsets;
  int flips = 0, images = 0;
  for (const Batch& b : Epoch(loader)) {
    for (int64_t i = 0; i < b.images.size(0); ++i, ++images) {
      int dy = 0, dx = 0;
      bool flip = false;
      ASSERT_TRUE(FindAugmentation(*data, images, b, i, pad, unnormalized, &dy, &dx, &flip)) << "image " << images;
      offsets.insert({dy, dx});
      flips += flip;
    }
  }
  EXPECT_EQ(offsets.size(), 25u);  // every offset of the 5 x 5 window positions occurs
  EXPECT_GT(flips, 60);            // about half of 200
  EXPECT_LT(flips, 140);

  // With normalization the padding is the normalized value of a black pixel, -mean / std.
  auto one = Synthetic(1, 1, 3, 3);
  DataLoader normalized(one, {.batch_size = 1, .crop_padding = 3, .mean = {0.5}, .std = {0.25}, .seed = 2});
  int dy, dx;
  bool flip;
  auto normalize = [](int64_t, int v) { return (static_cast<float>(v) / 255.0f - 0.5f) / 0.25f; };
  EXPECT_TRUE(FindAugmentation(*one, 0, *normalized.Next(), 0, 3, normalize, &dy, &dx, &flip));
}

TEST(DataLoader, CutoutZeroesOneClippedSquarePerImage) {
  // Images of pixel value 255 everywhere, unnormalized: 1.0 except where cut out.
  auto data = std::make_shared<ImageDataset>();
  data->channels = 2, data->height = 10, data->width = 12, data->num_classes = 10;
  data->labels.assign(300, 0);
  data->pixels.assign(300 * 2 * 10 * 12, 255);
  const int64_t s = 6;
  DataLoader loader(data, {.batch_size = 100, .shuffle = false, .cutout = s, .seed = 3});
  int whole = 0, clipped = 0;
  for (const Batch& b : Epoch(loader)) {
    const float* p = b.images.data<float>();
    for (int64_t i = 0; i < b.images.size(0); ++i) {
      // The zeros of channel 0 span a rectangle; channel 1 has the same zeros.
      int64_t y_min = 10, y_max = -1, x_min = 12, x_max = -1, zeros = 0;
      for (int64_t y = 0; y < 10; ++y) {
        for (int64_t x = 0; x < 12; ++x) {
          const float v = p[((i * 2) * 10 + y) * 12 + x];
          ASSERT_EQ(v, p[((i * 2 + 1) * 10 + y) * 12 + x]) << "image " << i;
          ASSERT_TRUE(v == 0.0f || v == 1.0f) << v;
          if (v == 0.0f) {
            ++zeros;
            y_min = std::min(y_min, y), y_max = std::max(y_max, y), x_min = std::min(x_min, x),
            x_max = std::max(x_max, x);
          }
        }
      }
      const int64_t h = y_max - y_min + 1, w = x_max - x_min + 1;
      ASSERT_EQ(zeros, h * w) << "image " << i << ": the zeros are not a rectangle";
      // Centre c covers [c - 3, c + 3): clipped to between 3 and 6 rows and columns.
      EXPECT_TRUE(h >= s / 2 && h <= s && w >= s / 2 && w <= s) << h << " x " << w;
      EXPECT_TRUE(h == s || y_min == 0 || y_max == 9) << "only the border clips";
      EXPECT_TRUE(w == s || x_min == 0 || x_max == 11) << "only the border clips";
      (h == s && w == s ? whole : clipped) += 1;
    }
  }
  EXPECT_GT(whole, 30);  // centres in rows 3..6 and columns 3..8: 24 of 120, about 60 of 300
  EXPECT_GT(clipped, 150);

  // Cutout draws after the crop and the flip, so those stay as they were without it.
  auto synthetic = Synthetic(16);
  LoaderOptions with = kAugmented;
  with.cutout = 2;
  DataLoader plain(synthetic, kAugmented), cut(synthetic, with);
  const Batch a = *plain.Next(), b = *cut.Next();
  int64_t differing = 0;
  for (int64_t k = 0; k < a.images.numel(); ++k) {
    const float x = a.images.data<float>()[k], y = b.images.data<float>()[k];
    if (x != y) {
      ++differing;
      EXPECT_EQ(y, 0.0f);
    }
  }
  EXPECT_GT(differing, 0);
  EXPECT_LE(differing, 8 * 3 * 2 * 2);  // at most a 2 x 2 square per channel and image
}

TEST(DataLoader, CutoutEpochsEndTheCutout) {
  // With cutout_epochs = 1, epoch 0 is cut out and epoch 1 is the loader without cutout, bit for bit.
  auto data = Synthetic(16);
  LoaderOptions first_only = kAugmented;
  first_only.cutout = 4;
  first_only.cutout_epochs = 1;
  LoaderOptions always = first_only;
  always.cutout_epochs = 0;
  DataLoader limited(data, first_only), every(data, always), plain(data, kAugmented);
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::vector<Batch> a = Epoch(limited), b = Epoch(every), c = Epoch(plain);
    ASSERT_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const std::vector<float> got = a[i].images.to_vector<float>();
      if (epoch == 0) {
        EXPECT_EQ(got, b[i].images.to_vector<float>()) << "epoch 0 batch " << i;
      } else {
        EXPECT_EQ(got, c[i].images.to_vector<float>()) << "epoch 1 batch " << i;
        EXPECT_NE(got, b[i].images.to_vector<float>()) << "epoch 1 batch " << i << ": still cut out";
      }
    }
  }
}

// TrivialAugment changes some images and leaves others (Identity, Equalize, which leaves an image of under
// 256 pixels a channel alone, magnitude 0, ...; about 1 in 6, 16 of these 96, deterministically); its
// draws come from a stream of their own, so an image it leaves alone gets the crop and flip it gets without
// it. (Were the crop's stream shifted, an image would match in about 1 case of 50 crops and flips.) The
// batches are the same whatever the worker count.
TEST(DataLoader, TrivialAugmentDrawsFromAStreamOfItsOwn) {
  auto data = Synthetic(96, 3, 8, 8);
  LoaderOptions with = kAugmented;
  with.trivial_augment = true;
  with.num_workers = 0;
  DataLoader plain(data, kAugmented), augmented(data, with);
  const std::vector<Batch> a = Epoch(plain), b = Epoch(augmented);
  ASSERT_EQ(a.size(), b.size());
  const int64_t image_floats = 3 * 8 * 8;
  int64_t same = 0, images = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(SameBits(a[i].labels, b[i].labels));
    for (int64_t k = 0; k < a[i].images.size(0); ++k, ++images) {
      same += std::memcmp(a[i].images.data<float>() + k * image_floats, b[i].images.data<float>() + k * image_floats,
                          image_floats * sizeof(float)) == 0;
    }
  }
  EXPECT_GE(same, 4) << "of " << images;
  EXPECT_LE(same, images / 4) << "of " << images;
  with.num_workers = 2;
  DataLoader threaded(data, with);
  ExpectSameBatches(Epoch(threaded), b, "trivial_augment, 2 workers");
}

// Mixup blends each image of the batch the loader makes without it (every other augmentation on) with one
// partner, by one weight per batch: lambda x_i + (1 - lambda) x_p(i), p a permutation of the batch, and
// brings the partners' labels. The weights follow Beta(alpha, alpha): for alpha = 0.2 most lie near 0 or 1,
// for alpha = 4 near 1/2.
TEST(DataLoader, MixupBlendsEachImageWithAPartnerOfTheSameBatch) {
  auto data = Synthetic(640);
  LoaderOptions unmixed = kAugmented;
  unmixed.cutout = 3;
  unmixed.trivial_augment = true;
  LoaderOptions mixed_options = unmixed;
  mixed_options.mixup = 0.2;
  DataLoader plain(data, unmixed), mixed(data, mixed_options);
  const std::vector<Batch> a = Epoch(plain), b = Epoch(mixed);
  ASSERT_EQ(a.size(), b.size());
  int extreme = 0, moved = 0;
  for (size_t n = 0; n < a.size(); ++n) {
    const std::string what = "batch " + std::to_string(n);
    EXPECT_FALSE(a[n].mixed_with.defined()) << what;
    EXPECT_EQ(a[n].mix_weight, 1) << what;
    ASSERT_TRUE(b[n].mixed_with.defined() && b[n].mix_labels.defined()) << what;
    EXPECT_TRUE(SameBits(a[n].labels, b[n].labels)) << what;
    const double lambda = b[n].mix_weight;
    ASSERT_TRUE(lambda >= 0 && lambda <= 1) << what << ": " << lambda;
    extreme += lambda < 0.1 || lambda > 0.9;
    const std::vector<int64_t> partner = b[n].mixed_with.to_vector<int64_t>();
    const int64_t count = a[n].images.size(0);
    std::vector<int64_t> sorted = partner;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < count; ++i) ASSERT_EQ(sorted[i], i) << what << ": not a permutation";
    const int64_t floats = a[n].images.numel() / count;
    const float* x = a[n].images.data<float>();
    const float* got = b[n].images.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      moved += partner[i] != i;
      EXPECT_EQ(b[n].mix_labels.at<int64_t>({i}), a[n].labels.at<int64_t>({partner[i]})) << what << " image " << i;
      for (int64_t k = 0; k < floats; ++k) {
        const float own = static_cast<float>(lambda) * x[i * floats + k];
        const float other = static_cast<float>(1 - lambda) * x[partner[i] * floats + k];
        // A few roundings of the terms' size (the compiler may fuse the multiply-add), not of the sum's,
        // which can be far smaller.
        ASSERT_NEAR(got[i * floats + k], own + other, 3e-7 * (std::abs(own) + std::abs(other)))
            << what << " image " << i << " value " << k;
      }
    }
  }
  // Beta(0.2, 0.2) puts 67% of its mass below 0.1 or above 0.9 (54 of 80 expected, a standard deviation of
  // 4), Beta(1, 1) 20%, Beta(4, 4) 0.5%.
  EXPECT_GE(extreme, 40) << "of 80 batches";
  EXPECT_GE(moved, 80 * 6) << "of 640 images";  // a permutation of 8 leaves one image in place on average
  mixed_options.mixup = 4;
  DataLoader peaked(data, mixed_options);
  extreme = 0;
  for (const Batch& batch : Epoch(peaked)) extreme += batch.mix_weight < 0.1 || batch.mix_weight > 0.9;
  EXPECT_LE(extreme, 3) << "of 80 batches";
}

TEST(DataLoader, MixupEpochsEndTheMixing) {
  // With mixup_epochs = 1, epoch 1 is the loader without mixup, bit for bit, and says so.
  auto data = Synthetic(16);
  LoaderOptions first_only = kAugmented;
  first_only.mixup = 1;
  first_only.mixup_epochs = 1;
  DataLoader limited(data, first_only), plain(data, kAugmented);
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::vector<Batch> a = Epoch(limited), c = Epoch(plain);
    ASSERT_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string what = "epoch " + std::to_string(epoch) + " batch " + std::to_string(i);
      EXPECT_EQ(a[i].mixed_with.defined(), epoch == 0) << what;
      EXPECT_EQ(SameBits(a[i].images, c[i].images), epoch == 1) << what;
      if (epoch == 1) {
        EXPECT_EQ(a[i].mix_weight, 1) << what;
      }
    }
  }
}

TEST(DataLoader, SameBatchesWhateverTheWorkerCount) {
  auto data = Synthetic(70);
  LoaderOptions every = kAugmented;  // and every other augmentation
  every.cutout = 3;
  every.trivial_augment = true;
  every.mixup = 0.5;
  for (LoaderOptions options : {kAugmented, every}) {
    const std::string setting = options.mixup > 0 ? "every augmentation, " : "crops and flips, ";
    options.num_workers = 0;
    DataLoader reference(data, options);
    std::vector<Batch> ref = Epoch(reference), ref2 = Epoch(reference);
    for (int workers : {1, 2, 5}) {
      for (int prefetch : {1, 3, 16}) {
        options.num_workers = workers;
        options.prefetch = prefetch;
        DataLoader loader(data, options);
        const std::string what =
            setting + "workers " + std::to_string(workers) + " prefetch " + std::to_string(prefetch);
        ExpectSameBatches(Epoch(loader), ref, what);
        ExpectSameBatches(Epoch(loader), ref2, what + ", second epoch");
      }
    }
    options.seed = 8;
    DataLoader other_seed(data, options);
    EXPECT_FALSE(SameBits(Epoch(other_seed)[0].images, ref[0].images)) << setting;
  }
}

TEST(DataLoader, ResumesExactlyMidEpochAndBetweenEpochs) {
  auto data = Synthetic(70);
  DataLoader uninterrupted(data, kAugmented);
  std::vector<Batch> all = Epoch(uninterrupted);
  std::vector<Batch> epoch1 = Epoch(uninterrupted);
  all.insert(all.end(), epoch1.begin(), epoch1.end());

  // Stop after 3 batches of epoch 0, and again at the end of epoch 0.
  DataLoader first(data, kAugmented);
  std::vector<Batch> seen;
  for (int i = 0; i < 3; ++i) seen.push_back(*first.Next());
  const std::string mid = first.state();
  EXPECT_EQ(first.batch_index(), 3);

  LoaderOptions other_workers = kAugmented;
  other_workers.num_workers = 3;
  DataLoader second(data, other_workers);
  ASSERT_TRUE(second.set_state(mid).ok());
  EXPECT_EQ(second.epoch(), 0);
  EXPECT_EQ(second.batch_index(), 3);
  for (const Batch& b : Epoch(second)) seen.push_back(b);
  EXPECT_EQ(second.epoch(), 1);
  const std::string between = second.state();

  DataLoader third(data, kAugmented);
  ASSERT_TRUE(third.set_state(between).ok());
  for (const Batch& b : Epoch(third)) seen.push_back(b);
  ExpectSameBatches(seen, all, "resumed");

  // Restoring the state of a loader that is mid-epoch rewinds it.
  ASSERT_TRUE(first.set_state(mid).ok());
  std::vector<Batch> rest = Epoch(first);
  ExpectSameBatches(rest, std::vector<Batch>(all.begin() + 3, all.begin() + 9), "rewound");
}

TEST(DataLoader, SetStateErrorsChangeNothing) {
  auto data = Synthetic(20);
  DataLoader loader(data, kAugmented);  // 3 batches
  loader.Next();
  const std::string before = loader.state();
  for (const std::string& bad : {std::string(""), std::string("x y z"), std::string("0 1 garbage"),
                                 std::string("-1 0 ") + Generator(1).state()}) {
    const absl::Status s = loader.set_state(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("malformed"), std::string::npos) << s;
  }
  const absl::Status past = loader.set_state("0 4 " + Generator(1).state());
  EXPECT_NE(past.message().find("batch 4 of an epoch but this loader has 3"), std::string::npos) << past;
  EXPECT_EQ(loader.state(), before);
  EXPECT_EQ(loader.batch_index(), 1);
}

TEST(DataLoader, BadOptionsThrow) {
  auto data = Synthetic(4);
  auto message = [](std::shared_ptr<const ImageDataset> d, LoaderOptions options) {
    try {
      DataLoader loader(std::move(d), std::move(options));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(data, {.batch_size = 0}), "DataLoader: expected batch_size >= 1, got 0");
  EXPECT_EQ(message(data, {.crop_padding = -1}), "DataLoader: expected crop_padding >= 0, got -1");
  EXPECT_EQ(message(data, {.cutout = -1}), "DataLoader: expected cutout >= 0, got -1");
  EXPECT_EQ(message(data, {.cutout = 4, .cutout_epochs = -1}),
            "DataLoader: expected cutout_epochs >= 0 (0: every epoch), got -1");
  EXPECT_EQ(message(data, {.mixup = -0.5}), "DataLoader: expected a finite mixup >= 0 (0: none), got -0.5");
  EXPECT_EQ(message(data, {.mixup = std::nan("")}), "DataLoader: expected a finite mixup >= 0 (0: none), got nan");
  EXPECT_EQ(message(data, {.mixup = std::numeric_limits<double>::infinity()}),
            "DataLoader: expected a finite mixup >= 0 (0: none), got inf");
  EXPECT_EQ(message(data, {.mixup = 1, .mixup_epochs = -2}),
            "DataLoader: expected mixup_epochs >= 0 (0: every epoch), got -2");
  EXPECT_EQ(message(data, {.num_workers = -1}), "DataLoader: expected num_workers >= 0, got -1");
  EXPECT_EQ(message(data, {.prefetch = 0}), "DataLoader: expected prefetch >= 1, got 0");
  EXPECT_EQ(message(data, {.mean = {0.5}, .std = {0.5}}),
            "DataLoader: expected one mean and one std per channel (3), got 1 means and 1 stds");
  EXPECT_EQ(message(data, {.mean = {0, 0, 0}, .std = {1, 0, 1}}), "DataLoader: expected std > 0, got 0");
  EXPECT_EQ(message(nullptr, {}), "DataLoader: expected a data set, got null");
  EXPECT_EQ(message(Synthetic(4, 2), {.trivial_augment = true}),
            "DataLoader: expected images of 1 or 3 channels for trivial_augment, got 2");
  // Image geometries a reader should never produce: no bytes per image (cutout would draw a position below
  // 0), and pixels that are not the images' bytes.
  auto flat = std::make_shared<ImageDataset>(*data);
  flat->height = 0;
  flat->pixels.clear();
  EXPECT_EQ(message(flat, {.cutout = 2}),
            "DataLoader: expected images of at least 1 x 1 x 1 and at most 2^31 bytes, "
            "got 3 x 0 x 5");
  auto short_pixels = std::make_shared<ImageDataset>(*data);
  short_pixels->pixels.pop_back();
  EXPECT_EQ(message(short_pixels, {}), "DataLoader: expected 4 images of 90 bytes, 360 bytes of pixels, got 359");
}

TEST(DataLoader, AugmentationStreamsDiffer) {
  std::set<uint64_t> seeds;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    for (int64_t index = 0; index < 100; ++index) seeds.insert(AugmentationSeed(1, epoch, index));
  }
  EXPECT_EQ(seeds.size(), 1000u);
  EXPECT_NE(AugmentationSeed(1, 0, 0), AugmentationSeed(2, 0, 0));
}

// Prints (does not assert: timings on a shared machine are noisy) how long a consumer that "trains" for
// 5 ms per batch waits for data, with 2 workers preparing CIFAR-sized batches of 128.
TEST(DataLoader, ReportsWaitTimePerBatch) {
  auto data = Synthetic(128 * 20, 3, 32, 32);
  LoaderOptions options = kAugmented;
  options.batch_size = 128;
  options.crop_padding = 4;
  DataLoader loader(data, options);
  for (int epoch = 0; epoch < 2; ++epoch) {
    while (std::optional<Batch> b = loader.Next()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const LoaderStats s = loader.stats();
  EXPECT_EQ(s.batches, 40);
  loader.ResetStats();
  EXPECT_EQ(loader.stats().batches, 0);
  EXPECT_EQ(loader.stats().prepare_seconds, 0);
  loader.Next();
  EXPECT_EQ(loader.stats().batches, 1);
  EXPECT_LT(loader.stats().prepare_seconds, s.prepare_seconds);  // counted afresh
  std::printf(
      "loader: %lld batches of 128, prepare %.3f ms/batch, wait %.4f ms/batch (max %.3f ms), "
      "first batch %.3f ms\n",
      static_cast<long long>(s.batches), 1e3 * s.prepare_seconds / s.batches, 1e3 * s.wait_seconds / (s.batches - 1),
      1e3 * s.max_wait_seconds, 1e3 * s.startup_wait_seconds);
}

}  // namespace
}  // namespace normgrad::data

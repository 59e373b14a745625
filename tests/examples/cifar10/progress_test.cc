#include "examples/cifar10/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace normgrad::cifar10 {
namespace {

TEST(Progress, FormatDuration) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(42.4), "0:42");
  EXPECT_EQ(FormatDuration(725), "12:05");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDuration(-5), "0:00");
}

TEST(Progress, Lines) {
  const ProgressState s{.epoch = 2, .epochs = 30, .batch = 120, .batches = 351, .loss = 1.23456,
                        .accuracy = 0.5521, .images_per_second = 612.4, .seconds_left = 2710};
  EXPECT_EQ(ProgressLine(s, false), "epoch 3/30 120/351  loss 1.2346  acc 55.21%  612 img/s  left 45:10");
  EXPECT_EQ(ProgressLine(s, true, 10), "epoch 3/30 [###.......] 120/351  loss 1.2346  acc 55.21%  612 img/s  left 45:10");
}

// What Progress writes, read back from a temporary file.
std::string Output(bool terminal) {
  std::FILE* f = std::tmpfile();
  Progress p(f, terminal, /*epochs=*/2, /*batches_per_epoch=*/5, /*plain_every=*/2);
  p.StartEpoch(0, 0);
  for (int b = 1; b <= 5; ++b) p.Batch(b, 10 * b, 1.0 / b, 0.1 * b, 0);
  p.Print("epoch 1 done");
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out.push_back(static_cast<char>(c));
  std::fclose(f);
  return out;
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  const std::string out = Output(false);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  // Batches 2 and 4 (every 2nd) and 5 (the epoch's last), then the summary.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4) << out;
  EXPECT_NE(out.find("epoch 1/2 2/5  loss 0.5000  acc 20.00%"), std::string::npos) << out;
  EXPECT_NE(out.find("5/5"), std::string::npos) << out;
  EXPECT_NE(out.find("\nepoch 1 done\n"), std::string::npos) << out;
}

TEST(Progress, RedrawnInPlaceOnATerminal) {
  const std::string out = Output(true);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 5) << out;
  EXPECT_EQ(out.rfind("\repoch 1/2 [", 0), 0u);
  EXPECT_NE(out.find("[###################.....] 4/5"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[K\nepoch 1 done\n"), std::string::npos) << out;  // the summary gets its own line
}

}  // namespace
}  // namespace normgrad::cifar10

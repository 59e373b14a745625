#include "examples/cifar10/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace normgrad::cifar10 {
namespace {

EpochMetrics Epoch(int64_t epoch, bool with_val) {
  EpochMetrics m;
  m.epoch = epoch;
  m.step = 10 * epoch;
  m.lr = 0.1 / epoch;
  m.train_loss = 2.0 / epoch;
  m.train_accuracy = 1 - 0.5 / epoch;
  if (with_val) m.val_loss = 2.2 / epoch, m.val_accuracy = 0.9 - 0.5 / epoch;
  m.images_per_second = 600;
  m.epoch_seconds = 80;
  m.elapsed_seconds = 80.0 * epoch;
  return m;
}

TEST(Metrics, Tally) {
  Tally t;
  EXPECT_EQ(t.loss(), 0);
  t.Add(2.0, 3, 4);
  t.Add(1.0, 1, 2);
  EXPECT_DOUBLE_EQ(t.loss(), 10.0 / 6);
  EXPECT_DOUBLE_EQ(t.accuracy(), 4.0 / 6);
}

TEST(Metrics, JsonRoundTrip) {
  for (bool with_val : {false, true}) {
    const EpochMetrics m = Epoch(3, with_val);
    const nlohmann::json j = ToJson(m);
    EXPECT_EQ(j["event"], "epoch");
    EXPECT_EQ(j["val_accuracy"].is_null(), !with_val);
    // Through text, as the log and the checkpoint hold it.
    absl::StatusOr<EpochMetrics> back = EpochMetricsFromJson(nlohmann::json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->epoch, 3);
    EXPECT_EQ(back->step, 30);
    EXPECT_DOUBLE_EQ(back->train_loss, m.train_loss);
    EXPECT_EQ(back->val_accuracy, m.val_accuracy);
    EXPECT_FALSE(back->test_loss.has_value());
  }
  nlohmann::json bad = ToJson(Epoch(1, false));
  bad.erase("lr");
  EXPECT_NE(EpochMetricsFromJson(bad).status().message().find("missing or non-numeric \"lr\""), std::string::npos);
  bad = ToJson(Epoch(1, false));
  bad["val_loss"] = "high";
  EXPECT_NE(EpochMetricsFromJson(bad).status().message().find("\"val_loss\""), std::string::npos);
  EXPECT_FALSE(EpochMetricsFromJson(nlohmann::json::array()).ok());
}

TEST(Metrics, JsonLinesAndPerClass) {
  const std::vector<ClassAccuracy> classes = {{"cat", 3, 4}, {"dog", 1, 4}};
  const std::string lines = JsonLines({ToJson(Epoch(1, true)), PerClassJson("val", classes)});
  ASSERT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
  const nlohmann::json second = nlohmann::json::parse(lines.substr(lines.find('\n') + 1));
  EXPECT_EQ(second["split"], "val");
  EXPECT_EQ(second["classes"][1]["name"], "dog");
  EXPECT_EQ(second["classes"][0]["correct"], 3);
  const std::string table = PerClassTable("val", classes);
  EXPECT_NE(table.find("cat           75.00%  (3 / 4)"), std::string::npos) << table;
  EXPECT_NE(table.find("all           50.00%  (4 / 8)"), std::string::npos) << table;
}

TEST(Metrics, SvgChart) {
  std::vector<EpochMetrics> history;
  for (int e = 1; e <= 12; ++e) history.push_back(Epoch(e, e > 1));
  const std::string svg = TrainingCurvesSvg(history, "ResNet-20 <CIFAR-10> & more");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  EXPECT_NE(svg.find("ResNet-20 &lt;CIFAR-10&gt; &amp; more"), std::string::npos);
  // Two panels, each with a train and a val line; no test line.
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++lines;
  EXPECT_EQ(lines, 4u);
  EXPECT_EQ(svg.find(">test<"), std::string::npos);
  EXPECT_NE(svg.find(">accuracy (%)<"), std::string::npos);
  // 12 train points and 11 val points per panel.
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 2u * (12 + 11));
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);

  const std::string empty = TrainingCurvesSvg({}, "nothing yet");
  EXPECT_EQ(empty.find("<polyline"), std::string::npos);
  EXPECT_NE(empty.find(">epoch<"), std::string::npos);
  EXPECT_EQ(empty.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace normgrad::cifar10

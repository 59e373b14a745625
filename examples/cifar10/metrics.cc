#include "examples/cifar10/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace normgrad::cifar10 {
namespace {

using Json = nlohmann::json;

Json Optional(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

// ---- the chart

constexpr double kWidth = 1000, kHeight = 400;
constexpr double kPlotTop = 60, kPlotHeight = 270, kPlotWidth = 370;
constexpr double kPanelLeft[2] = {80, 580};

struct Series {
  const char* name;
  const char* color;
  std::vector<std::pair<double, double>> points;  // (epoch, value)
};

// Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `target` of them.
std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target;
  const double power = std::pow(10, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (raw <= step) break;
  }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  if (ticks.back() < hi) ticks.push_back(ticks.back() + step);
  return ticks;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Number(double v) { return absl::StrFormat("%g", std::abs(v) < 1e-12 ? 0.0 : v); }

// `legend_low`: the legend goes in the bottom right corner, out of the way of curves that rise there.
void Panel(std::string& svg, double left, const std::string& y_label, const std::vector<Series>& series,
           double x_max, double y_lo, double y_hi, bool legend_low) {
  const std::vector<double> xt = NiceTicks(0, std::max(x_max, 1.0), 8), yt = NiceTicks(y_lo, y_hi, 6);
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * kPlotWidth; };
  auto py = [&](double y) { return kPlotTop + kPlotHeight - (y - y0) / (y1 - y0) * kPlotHeight; };
  const double bottom = kPlotTop + kPlotHeight;
  absl::StrAppendFormat(&svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
                        left, kPlotTop, kPlotWidth, kPlotHeight);
  for (double t : yt) {
    absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, py(t),
                          left + kPlotWidth, py(t));
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, py(t) + 4,
                          Number(t));
  }
  for (double t : xt) {
    absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", px(t), bottom,
                          px(t), bottom + 5);
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px(t), bottom + 20,
                          Number(t));
  }
  absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n",
                        left + kPlotWidth / 2, bottom + 42);
  absl::StrAppendFormat(&svg, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                        left - 50, kPlotTop + kPlotHeight / 2, Escape(y_label));
  int legend = 0;
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    std::string points;
    for (const auto& [x, y] : s.points) absl::StrAppendFormat(&points, "%.1f,%.1f ", px(x), py(y));
    absl::StrAppendFormat(&svg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", s.color,
                          points);
    if (s.points.size() <= 60) {
      for (const auto& [x, y] : s.points) {
        absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(x), py(y), s.color);
      }
    }
    const double ly = legend_low ? kPlotTop + kPlotHeight - 12 - 18 * legend++ : kPlotTop + 16 + 18 * legend++;
    absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                          left + kPlotWidth - 90, ly - 4, left + kPlotWidth - 66, ly - 4, s.color);
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", left + kPlotWidth - 60, ly, s.name);
  }
}

}  // namespace

Json ToJson(const EpochMetrics& m) {
  return {{"event", "epoch"},
          {"epoch", m.epoch},
          {"step", m.step},
          {"lr", m.lr},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"val_loss", Optional(m.val_loss)},
          {"val_accuracy", Optional(m.val_accuracy)},
          {"test_loss", Optional(m.test_loss)},
          {"test_accuracy", Optional(m.test_accuracy)},
          {"images_per_second", m.images_per_second},
          {"epoch_seconds", m.epoch_seconds},
          {"elapsed_seconds", m.elapsed_seconds}};
}

absl::StatusOr<EpochMetrics> EpochMetricsFromJson(const Json& j) {
  EpochMetrics m;
  std::string problem;
  auto number = [&](const char* key, auto* out, bool optional) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_number()) {
      *out = it->template get<std::remove_reference_t<decltype(**out)>>();
    } else if (!(optional && (it == j.end() || it->is_null())) && problem.empty()) {
      problem = key;
    }
  };
  if (!j.is_object()) return absl::InvalidArgumentError("epoch metrics: expected a JSON object, got " + j.dump());
  std::optional<int64_t> epoch, step;
  std::optional<double> lr, train_loss, train_accuracy, ips, epoch_seconds, elapsed;
  number("epoch", &epoch, false);
  number("step", &step, false);
  number("lr", &lr, false);
  number("train_loss", &train_loss, false);
  number("train_accuracy", &train_accuracy, false);
  number("val_loss", &m.val_loss, true);
  number("val_accuracy", &m.val_accuracy, true);
  number("test_loss", &m.test_loss, true);
  number("test_accuracy", &m.test_accuracy, true);
  number("images_per_second", &ips, false);
  number("epoch_seconds", &epoch_seconds, false);
  number("elapsed_seconds", &elapsed, false);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("epoch metrics: missing or non-numeric \"", problem, "\" in ", j.dump()));
  }
  m.epoch = *epoch, m.step = *step, m.lr = *lr, m.train_loss = *train_loss, m.train_accuracy = *train_accuracy;
  m.images_per_second = *ips, m.epoch_seconds = *epoch_seconds, m.elapsed_seconds = *elapsed;
  return m;
}

Json PerClassJson(const std::string& split, const std::vector<ClassAccuracy>& classes) {
  Json list = Json::array();
  for (const ClassAccuracy& c : classes) list.push_back({{"name", c.name}, {"correct", c.correct}, {"images", c.images}});
  return {{"event", "per_class"}, {"split", split}, {"classes", list}};
}

std::string PerClassTable(const std::string& split, const std::vector<ClassAccuracy>& classes) {
  std::string out = absl::StrCat("per-class accuracy (", split, "):\n");
  int64_t correct = 0, images = 0;
  for (const ClassAccuracy& c : classes) {
    absl::StrAppendFormat(&out, "  %-12s %6.2f%%  (%d / %d)\n", c.name,
                          c.images ? 100.0 * static_cast<double>(c.correct) / static_cast<double>(c.images) : 0.0,
                          c.correct, c.images);
    correct += c.correct;
    images += c.images;
  }
  absl::StrAppendFormat(&out, "  %-12s %6.2f%%  (%d / %d)\n", "all",
                        images ? 100.0 * static_cast<double>(correct) / static_cast<double>(images) : 0.0, correct,
                        images);
  return out;
}

std::string JsonLines(const std::vector<Json>& records) {
  std::string out;
  for (const Json& r : records) absl::StrAppend(&out, r.dump(), "\n");
  return out;
}

std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& history, const std::string& title) {
  auto collect = [&](const char* name, const char* color, auto get) {
    Series s{name, color, {}};
    for (const EpochMetrics& m : history) {
      if (std::optional<double> v = get(m)) s.points.push_back({static_cast<double>(m.epoch), *v});
    }
    return s;
  };
  auto percent = [](std::optional<double> v) { return v ? std::optional<double>(100 * *v) : std::nullopt; };
  const std::vector<Series> loss = {
      collect("train", "#1f77b4", [](const EpochMetrics& m) { return std::optional<double>(m.train_loss); }),
      collect("val", "#ff7f0e", [](const EpochMetrics& m) { return m.val_loss; }),
      collect("test", "#2ca02c", [](const EpochMetrics& m) { return m.test_loss; })};
  const std::vector<Series> accuracy = {
      collect("train", "#1f77b4", [&](const EpochMetrics& m) { return percent(m.train_accuracy); }),
      collect("val", "#ff7f0e", [&](const EpochMetrics& m) { return percent(m.val_accuracy); }),
      collect("test", "#2ca02c", [&](const EpochMetrics& m) { return percent(m.test_accuracy); })};

  double x_max = 1, loss_max = 0, acc_min = 100;
  for (const Series& s : loss) {
    for (const auto& [x, y] : s.points) x_max = std::max(x_max, x), loss_max = std::max(loss_max, y);
  }
  for (const Series& s : accuracy) {
    for (const auto& [x, y] : s.points) acc_min = std::min(acc_min, y);
  }
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kWidth / 2, Escape(title));
  Panel(svg, kPanelLeft[0], "loss", loss, x_max, 0, loss_max > 0 ? loss_max * 1.05 : 1, /*legend_low=*/false);
  Panel(svg, kPanelLeft[1], "accuracy (%)", accuracy, x_max, std::floor(std::min(acc_min, 90.0) / 10) * 10, 100,
        /*legend_low=*/true);
  svg += "</svg>\n";
  return svg;
}

}  // namespace normgrad::cifar10

// Terminal progress bar and plain per-epoch lines (see progress_display.h).
#include "cli/progress_display.h"

#include <cmath>
#include <string>

namespace ringmaster::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool is_terminal) : out_(out), tty_(is_terminal) {}

void ProgressDisplay::clear_bar() {
  if (bar_shown_) {
    std::fputs("\r\033[K", out_);
    bar_shown_ = false;
  }
}

void ProgressDisplay::on_log(const std::string& line) {
  clear_bar();
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void ProgressDisplay::on_step(const training::StepProgress& p) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (p.step != p.steps_per_epoch && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * p.step / std::max<int64_t>(p.steps_per_epoch, 1));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(out_,
               "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  loss %.4f  acc %5.2f%%  %.0f %s/s  ETA %s",
               static_cast<long long>(p.epoch), static_cast<long long>(p.epochs), bar.c_str(),
               static_cast<long long>(p.step), static_cast<long long>(p.steps_per_epoch), p.loss,
               100.0 * p.accuracy, p.samples_per_second, p.sample_unit.c_str(),
               format_duration(p.eta_seconds).c_str());
  std::fflush(out_);
  bar_shown_ = true;
}

void ProgressDisplay::on_epoch(const training::EpochReport& r) {
  clear_bar();
  if (!r.trained) {  // every parameter frozen: no train figures to show
    std::fprintf(out_, "evaluation only  test loss %.4f  test acc %.2f%%  %s\n", r.test_loss,
                 100.0 * r.test_accuracy, format_duration(r.epoch_seconds).c_str());
    std::fflush(out_);
    return;
  }
  std::fprintf(
      out_,
      "epoch %lld/%lld  train loss %.4f  train acc %.2f%%  test loss %.4f  test acc %.2f%%  "
      "%.0f %s/s  %s  lr %.3g\n",
      static_cast<long long>(r.epoch), static_cast<long long>(r.epochs), r.train_loss,
      100.0 * r.train_accuracy, r.test_loss, 100.0 * r.test_accuracy, r.images_per_second,
      r.sample_unit.c_str(), format_duration(r.epoch_seconds).c_str(), r.lr);
  std::fflush(out_);
}

}  // namespace ringmaster::cli

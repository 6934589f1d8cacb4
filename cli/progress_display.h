// Shows training progress: on a terminal, one redrawn progress bar (epoch,
// step, loss, accuracy, samples/s, ETA) plus a kept line per epoch; when not
// on a terminal (CI logs, pipes), plain lines, one per epoch. Writes to the
// given FILE*; single-threaded.
#pragma once

#include <chrono>
#include <cstdio>

#include "training/trainer.h"

namespace ringmaster::cli {

class ProgressDisplay : public training::ProgressSink {
 public:
  ProgressDisplay(std::FILE* out, bool is_terminal);
  void on_log(const std::string& line) override;
  void on_step(const training::StepProgress& p) override;
  void on_epoch(const training::EpochReport& r) override;

 private:
  void clear_bar();
  std::FILE* out_;
  bool tty_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "42s"

}  // namespace ringmaster::cli

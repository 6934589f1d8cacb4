// test_headline (see test_headline.h).
#include "cli/test_headline.h"

#include <cstdio>

namespace ringmaster::cli {

std::string test_headline(const std::map<std::string, double>& figures, double test_accuracy,
                          std::optional<double> test_mean_iou) {
  auto has = [&](const char* name) { return figures.count(name) > 0; };
  char line[128];
  if (has("map50") && has("map"))
    std::snprintf(line, sizeof line, "test mAP@0.5 %.4f, mAP@[.5:.95] %.4f", figures.at("map50"),
                  figures.at("map"));
  else if (has("bleu_4") && has("cider_d"))
    std::snprintf(line, sizeof line, "test BLEU-4 %.4f, CIDEr-D %.4f", figures.at("bleu_4"),
                  figures.at("cider_d"));
  else if (has("perplexity") && has("bits_per_char"))
    std::snprintf(line, sizeof line, "test perplexity %.3f, %.3f bits/char",
                  figures.at("perplexity"), figures.at("bits_per_char"));
  else if (test_mean_iou && *test_mean_iou >= 0.0)
    std::snprintf(line, sizeof line, "test pixel accuracy %.2f%%, mean IoU %.4f",
                  100.0 * test_accuracy, *test_mean_iou);
  else
    std::snprintf(line, sizeof line, "test accuracy %.2f%%", 100.0 * test_accuracy);
  return line;
}

}  // namespace ringmaster::cli

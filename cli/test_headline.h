// The words a finished job is summed up by, from what its task reported:
// mAP for detection (figures map50, map), BLEU-4 and CIDEr-D for captioning
// (bleu_4, cider_d), perplexity for language models (perplexity,
// bits_per_char), pixel accuracy and mean IoU for segmentation, accuracy
// otherwise. The same line for `ringmaster train`, `submit --follow` and the
// jobs table.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace ringmaster::cli {

std::string test_headline(const std::map<std::string, double>& figures, double test_accuracy,
                          std::optional<double> test_mean_iou);

}  // namespace ringmaster::cli

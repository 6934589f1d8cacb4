// `ringmaster detect SPEC.json CHECKPOINT IMAGE... [--out DIR] [--json]`:
// the objects a trained detector (faster_rcnn on fashion-composites with
// boxes) finds in each image: class, score and box, best first, those
// scoring at least --min-score (0.5). `--out DIR` writes each image
// enlarged (--scale, 4) as a PNG with its boxes, class names and scores
// drawn; `--json` prints one JSON document instead of lines. `--test N`
// detects in the first N held-out images of the spec's data instead and
// also prints their VOC mAP@0.5 and COCO mAP@[.5:.95] (every detection
// counted, as the trainer's evaluation does); `--write-images DIR` saves
// those images as they are. Last, the images per second of the model's
// forward passes (one image at a time; `images_per_second` in JSON).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_detect_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli

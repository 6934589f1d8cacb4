// `ringmaster classify SPEC.json CHECKPOINT IMAGE... [--top K] [--json]`:
// the classes a trained classifier (any model on a classification data set:
// image-folder, fashion-mnist, cifar-10, ...) gives each image, the K most
// probable (3) with their softmax probabilities, by the data's class names
// where it has them. Each image is read as the training images were: grey
// or RGB as the data, resized to its size (as an image folder is). `--test
// N` classifies the first N held-out images of the spec's data instead and
// also prints their top-1 and top-K accuracy; `--json` prints one JSON
// document instead of lines.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_classify_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli

// `ringmaster caption SPEC.json CHECKPOINT IMAGE... [--beam N]`: a caption
// per image from a trained captioner (nic on fashion-captions), greedy
// (--beam 1) or beam search (the spec's beam_size by default). `--test N`
// captions the first N held-out images of the spec's data instead and
// prints their references, then those captions' corpus BLEU-1..4, CIDEr-D
// and exact match; `--write-images DIR` saves those images as PNGs.
// `--length-normalization A` overrides the spec's.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_caption_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli

// `ringmaster augment-preview`: loads the spec's training set, applies its
// data.augment exactly as the trainer does (same seed, epoch and dataset
// index), and writes the grid with stb_image_write (grey or RGB, each pixel
// repeated zoom x zoom, 2-pixel mid-grey gutters). It trains nothing. Exit
// codes: 0 written, 1 data or write failure, 2 bad spec or usage.
#include "cli/augment_preview_command.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "models/augment.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::cli {
namespace {

struct PreviewOptions {
  std::string spec_path;
  std::string out;
  int64_t samples = 8;
  int64_t columns = 8;
  int64_t zoom = 4;
  int64_t first = 0;
};

constexpr int64_t kGutter = 2;
constexpr uint8_t kGutterGrey = 128;

int run_preview(const PreviewOptions& o) {
  training::JobSpec spec;
  try {
    spec = training::load_job_spec(o.spec_path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster augment-preview: invalid spec %s:\n%s\n", o.spec_path.c_str(),
                 e.what());
    return 2;
  }
  if (spec.data.augment.empty()) {
    std::fprintf(stderr, "ringmaster augment-preview: %s has no data.augment steps\n",
                 o.spec_path.c_str());
    return 2;
  }
  try {
    const models::Dataset train = training::load_data(spec.data, spec.train.seed).train;
    const models::Augmenter aug(spec.data.augment);
    const ops::Shape& s = train.images.shape();  // (N, C, H, W) u8
    const int64_t c = s[1], h = s[2], w = s[3], per = c * h * w;
    const int64_t rows = std::min(o.samples, train.size() - o.first);
    if (rows <= 0) throw ops::Error("no training samples from index " + std::to_string(o.first));
    const int64_t cell_h = h * o.zoom, cell_w = w * o.zoom;
    const int64_t img_h = rows * cell_h + (rows + 1) * kGutter;
    const int64_t img_w = o.columns * cell_w + (o.columns + 1) * kGutter;
    const int64_t pc = c == 3 ? 3 : 1;  // PNG channels: RGB or grey (first channel)
    std::vector<uint8_t> png(static_cast<size_t>(img_h * img_w * pc), kGutterGrey);  // (H, W, pc)
    std::vector<uint8_t> sample(static_cast<size_t>(per));                           // (C, H, W)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t index = o.first + r;
      for (int64_t col = 0; col < o.columns; ++col) {
        const uint8_t* src = train.images.data<uint8_t>() + index * per;
        std::copy_n(src, per, sample.data());
        if (col > 0) aug.apply(sample.data(), c, h, w, spec.train.seed, col - 1, index);
        const int64_t y0 = kGutter + r * (cell_h + kGutter);
        const int64_t x0 = kGutter + col * (cell_w + kGutter);
        for (int64_t y = 0; y < cell_h; ++y) {
          for (int64_t x = 0; x < cell_w; ++x) {
            for (int64_t k = 0; k < pc; ++k) {
              png[static_cast<size_t>(((y0 + y) * img_w + x0 + x) * pc + k)] =
                  sample[static_cast<size_t>((k * h + y / o.zoom) * w + x / o.zoom)];
            }
          }
        }
      }
    }
    std::filesystem::path p(o.out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    if (stbi_write_png(o.out.c_str(), static_cast<int>(img_w), static_cast<int>(img_h),
                       static_cast<int>(pc), png.data(), static_cast<int>(img_w * pc)) == 0) {
      throw ops::Error("cannot write " + o.out);
    }
    std::printf("wrote %s: %lld samples x %lld columns (original, then epochs 0..%lld)\n",
                o.out.c_str(), static_cast<long long>(rows), static_cast<long long>(o.columns),
                static_cast<long long>(o.columns - 2));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster augment-preview: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

void add_augment_preview_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<PreviewOptions>();
  CLI::App* cmd = app.add_subcommand(
      "augment-preview", "Write a PNG grid of training samples as data.augment changes them");
  cmd->add_option("spec", opts->spec_path, "Job spec (JSON) with data.augment")->required();
  cmd->add_option("--out", opts->out, "PNG file to write")->required();
  cmd->add_option("--samples", opts->samples, "Rows: training samples shown (default 8)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--columns", opts->columns,
                  "Columns: the original plus columns-1 epochs (default 8)")
      ->check(CLI::Range(2, 64));
  cmd->add_option("--zoom", opts->zoom, "Pixel repeat factor (default 4)")
      ->check(CLI::Range(1, 32));
  cmd->add_option("--first", opts->first, "Index of the first training sample (default 0)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([opts, &exit_code] { exit_code = run_preview(*opts); });
}

}  // namespace ringmaster::cli

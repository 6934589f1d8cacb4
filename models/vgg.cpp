// vgg (see vgg.h): the stacks of the paper, the feature Sequential with
// torchvision's child indices (conv, [bn,] relu, ..., pool), and the
// classifier. A conv without batch norm fuses its relu (the relu keeps its
// index, so names match torchvision's).
#include "models/vgg.h"

#include <algorithm>

#include "models/layers.h"
#include "ops/pool2d.h"

namespace ringmaster::models {

std::vector<int64_t> vgg_stack(int64_t depth) {
  const int64_t M = kVggPool;
  switch (depth) {
    case 11:
      return {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
    case 13:
      return {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
    case 16:
      return {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
    case 19:
      return {64,  64,  M,   128, 128, M,   256, 256, 256, 256, M,
              512, 512, 512, 512, M,   512, 512, 512, 512, M};
    default:
      return {};
  }
}

void read_vgg_stack(SpecReader& r, std::vector<int64_t>& stack) {
  if (const nlohmann::json* s = r.raw("stack")) {
    if (!s->is_array() || s->empty()) {
      r.problem("stack", "must be a non-empty array of conv widths and \"M\" (max pool)");
    } else {
      for (size_t i = 0; i < s->size(); ++i) {
        const nlohmann::json& e = (*s)[i];
        if (e.is_string() && e.get<std::string>() == "M") {
          stack.push_back(kVggPool);
        } else if (e.is_number_integer() && e.get<int64_t>() >= 1 && e.get<int64_t>() <= 65536) {
          stack.push_back(e.get<int64_t>());
        } else {
          r.problem("stack/" + std::to_string(i),
                    "must be a conv width (1..65536) or \"M\", got " + e.dump());
        }
      }
    }
  }
}

void read_vgg_options(SpecReader& r, VggOptions& o) {
  r.integer("depth", o.depth, 11, 19);
  if (vgg_stack(o.depth).empty())
    r.problem("depth", "must be 11, 13, 16 or 19, got " + std::to_string(o.depth));
  read_vgg_stack(r, o.stack);
  r.boolean("batch_norm", o.batch_norm);
  r.integer("classifier_width", o.classifier_width, 1, 65536);
  r.number("dropout", o.dropout, 0.0, 0.99);
  r.boolean("ceil_mode", o.ceil_mode);
}

std::shared_ptr<Module> make_vgg_features(const std::vector<int64_t>& stack, int64_t in_channels,
                                          bool batch_norm, bool ceil_mode, std::mt19937_64& rng) {
  auto features = std::make_shared<Sequential>();
  int64_t index = 0, in = in_channels;
  for (int64_t v : stack) {
    if (v == kVggPool) {
      features->add(std::to_string(index++),
                    std::make_shared<MaxPool2d>(2, Pool2dOptions{.ceil_mode = ceil_mode}));
      continue;
    }
    features->add(std::to_string(index++),
                  std::make_shared<Conv2d>(in, v, 3, rng,
                                           Conv2dOptions{.padding = 1, .fuse_relu = !batch_norm}));
    if (batch_norm) {
      features->add(std::to_string(index++), std::make_shared<BatchNorm2d>(v));
      features->add(std::to_string(index++), std::make_shared<ReLU>());
    } else {
      ++index;  // torchvision's relu index; the relu is fused into the conv
    }
    in = v;
  }
  return features;
}

int64_t vgg_stack_output_size(const std::vector<int64_t>& stack, int64_t image_size,
                              bool ceil_mode) {
  int64_t size = image_size;
  for (int64_t v : stack)
    if (v == kVggPool && size >= 1) size = ops::pool_output_size(size, 2, 2, 0, 0, 1, ceil_mode);
  return std::max<int64_t>(size, 0);
}

std::shared_ptr<Module> make_vgg(const VggOptions& o, const ModelConfig& cfg,
                                 std::mt19937_64& rng) {
  RM_THROW_IF(cfg.in_channels <= 0 || cfg.num_classes <= 0, "vgg: in_channels ", cfg.in_channels,
              " and num_classes ", cfg.num_classes, " must be positive");
  const std::vector<int64_t> stack = o.stack.empty() ? vgg_stack(o.depth) : o.stack;
  RM_THROW_IF(stack.empty(), "vgg: no stack for depth ", o.depth);
  int64_t channels = cfg.in_channels;
  for (int64_t v : stack)
    if (v != kVggPool) channels = v;
  const int64_t size = vgg_stack_output_size(stack, cfg.image_size, o.ceil_mode);
  RM_THROW_IF(size < 1, "vgg: image_size ", cfg.image_size, " does not survive the stack's pools (",
              o.ceil_mode ? "a shorter stack" : "set ceil_mode, or a shorter stack", ")");
  auto net = std::make_shared<Sequential>();
  net->add("features", make_vgg_features(stack, cfg.in_channels, o.batch_norm, o.ceil_mode, rng));
  net->add("flatten", std::make_shared<Flatten>());
  auto classifier = std::make_shared<Sequential>();
  const int64_t w = o.classifier_width;
  classifier->add("0", std::make_shared<Linear>(channels * size * size, w, rng,
                                                LinearOptions{.fuse_relu = true}));
  classifier->add("2", std::make_shared<Dropout>(o.dropout, rng));
  classifier->add("3", std::make_shared<Linear>(w, w, rng, LinearOptions{.fuse_relu = true}));
  classifier->add("5", std::make_shared<Dropout>(o.dropout, rng));
  classifier->add("6", std::make_shared<Linear>(w, cfg.num_classes, rng));
  net->add("classifier", classifier);
  return net;
}

}  // namespace ringmaster::models

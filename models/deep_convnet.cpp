// deep_convnet (see deep_convnet.h): the book's network as a named
// Sequential. Shapes are computed here; the layers do the work.
#include "models/deep_convnet.h"

#include "models/layers.h"

namespace ringmaster::models {

namespace {
int64_t conv3x3(int64_t in, int64_t pad) { return in + 2 * pad - 3 + 1; }
int64_t pool2(int64_t in) { return in / 2; }
}  // namespace

int64_t deep_convnet_feature_size(int image_size) {
  int64_t s = image_size;
  s = pool2(conv3x3(conv3x3(s, 1), 1));
  s = pool2(conv3x3(conv3x3(s, 1), 2));
  s = pool2(conv3x3(conv3x3(s, 1), 1));
  return s > 0 ? 64 * s * s : 0;
}

std::shared_ptr<Module> make_deep_convnet(int in_channels, int num_classes, int image_size,
                                          std::mt19937_64& rng, double dropout) {
  RM_THROW_IF(in_channels <= 0, "deep_convnet: in_channels must be positive, got ", in_channels);
  RM_THROW_IF(num_classes <= 0, "deep_convnet: num_classes must be positive, got ", num_classes);
  const int64_t features = deep_convnet_feature_size(image_size);
  RM_THROW_IF(features == 0, "deep_convnet: image_size ", image_size,
              " is too small for three 2x2 max pools (at least 4 is needed)");

  auto net = std::make_shared<Sequential>();
  auto conv = [&](const char* name, int64_t in, int64_t out, int64_t pad) {
    net->add(name, std::make_shared<Conv2d>(in, out, 3, rng,
                                            Conv2dOptions{.padding = pad, .fuse_relu = true}));
  };
  conv("conv1", in_channels, 16, 1);
  conv("conv2", 16, 16, 1);
  net->add("pool1", std::make_shared<MaxPool2d>(2));
  conv("conv3", 16, 32, 1);
  conv("conv4", 32, 32, 2);
  net->add("pool2", std::make_shared<MaxPool2d>(2));
  conv("conv5", 32, 64, 1);
  conv("conv6", 64, 64, 1);
  net->add("pool3", std::make_shared<MaxPool2d>(2));
  net->add("flatten", std::make_shared<Flatten>());
  net->add("fc1", std::make_shared<Linear>(features, 50, rng, LinearOptions{.fuse_relu = true}));
  if (dropout > 0.0) net->add("drop1", std::make_shared<Dropout>(dropout, rng));
  net->add("fc2", std::make_shared<Linear>(50, num_classes, rng));
  if (dropout > 0.0) net->add("drop2", std::make_shared<Dropout>(dropout, rng));
  return net;
}

void read_deep_convnet_options(SpecReader& r, DeepConvNetOptions& o) {
  r.number("dropout", o.dropout, 0.0, 0.95);
}

std::shared_ptr<Module> make_deep_convnet(const DeepConvNetOptions& o, const ModelConfig& cfg,
                                          std::mt19937_64& rng) {
  return make_deep_convnet(cfg.in_channels, cfg.num_classes, cfg.image_size, rng, o.dropout);
}

}  // namespace ringmaster::models

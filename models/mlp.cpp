// mlp (see header).
#include "models/mlp.h"

#include <string>

#include "models/layers.h"

namespace ringmaster::models {

void read_mlp_options(SpecReader& r, MlpOptions& o) {
  const nlohmann::json* h = r.raw("hidden");
  if (h == nullptr) return;
  if (!h->is_array() || h->size() > 16) {
    r.problem("hidden", "must be an array of at most 16 layer widths");
    return;
  }
  o.hidden.clear();
  for (size_t i = 0; i < h->size(); ++i) {
    const nlohmann::json& e = (*h)[i];
    if (e.is_number_integer() && e.get<int64_t>() >= 1 && e.get<int64_t>() <= 65536)
      o.hidden.push_back(e.get<int64_t>());
    else
      r.problem("hidden/" + std::to_string(i), "must be a width in 1..65536, got " + e.dump());
  }
}

std::shared_ptr<Module> make_mlp(const MlpOptions& o, const ModelConfig& cfg,
                                 std::mt19937_64& rng) {
  auto net = std::make_shared<Sequential>();
  net->add("flatten", std::make_shared<Flatten>());
  int64_t in = static_cast<int64_t>(cfg.in_channels) * cfg.image_size * cfg.image_size;
  int index = 1;
  for (int64_t width : o.hidden) {
    net->add("fc" + std::to_string(index++),
             std::make_shared<Linear>(in, width, rng, LinearOptions{.fuse_relu = true}));
    in = width;
  }
  net->add("fc" + std::to_string(index), std::make_shared<Linear>(in, cfg.num_classes, rng));
  return net;
}

}  // namespace ringmaster::models

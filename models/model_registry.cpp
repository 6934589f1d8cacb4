// The table of architectures (see model_registry.h). One line per model.
#include "models/model_registry.h"

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>

#include "models/deep_convnet.h"

namespace ringmaster::models {

namespace {

using Factory = std::function<std::shared_ptr<Module>(const ModelConfig&, std::mt19937_64&)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> table = {
      {"deep_convnet",
       [](const ModelConfig& c, std::mt19937_64& rng) {
         return make_deep_convnet(c.in_channels, c.num_classes, c.image_size, rng);
       }},
  };
  return table;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<Module> build_model(const std::string& name, const ModelConfig& cfg,
                                    std::mt19937_64& rng) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::ostringstream os;
    os << "unknown model '" << name << "'; known models:";
    for (const std::string& n : model_names()) os << " " << n;
    throw ops::Error(os.str());
  }
  return it->second(cfg, rng);
}

}  // namespace ringmaster::models

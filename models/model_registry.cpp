// The table of architectures (see model_registry.h). One line per model: its
// name, its options reader and its factory.
#include "models/model_registry.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "models/deep_convnet.h"
#include "models/face_resnet.h"
#include "models/faster_rcnn.h"
#include "models/fcn.h"
#include "models/googlenet.h"
#include "models/mlp.h"
#include "models/nic.h"
#include "models/rcnn.h"
#include "models/resnet.h"
#include "models/rnn_lm.h"
#include "models/vgg.h"

namespace ringmaster::models {

namespace {

using Reader = std::function<ModelBuilder(SpecReader&)>;

// Options struct O read by read(r, o), built by make(o, cfg, rng).
template <class O>
Reader entry(void (*read)(SpecReader&, O&),
             std::shared_ptr<Module> (*make)(const O&, const ModelConfig&, std::mt19937_64&)) {
  return [read, make](SpecReader& r) -> ModelBuilder {
    O o;
    read(r, o);
    return [o, make](const ModelConfig& c, std::mt19937_64& rng) { return make(o, c, rng); };
  };
}

const std::map<std::string, Reader>& registry() {
  static const std::map<std::string, Reader> table = {
      {"deep_convnet", entry(read_deep_convnet_options, make_deep_convnet)},
      {"face_resnet", entry(read_face_resnet_options, make_face_resnet)},
      {"faster_rcnn", entry(read_faster_rcnn_options, make_faster_rcnn)},
      {"fcn", entry(read_fcn_options, make_fcn)},
      {"googlenet", entry(read_googlenet_options, make_googlenet)},
      {"mlp", entry(read_mlp_options, make_mlp)},
      {"nic", entry(read_nic_options, make_nic)},
      {"rcnn", entry(read_rcnn_options, make_rcnn)},
      {"resnet", entry(read_resnet_options, make_resnet)},
      {"rnn_lm", entry(read_rnn_lm_options, make_rnn_lm)},
      {"vgg", entry(read_vgg_options, make_vgg)},
  };
  return table;
}

}  // namespace

ModelReads model_reads(const std::string& name) {
  if (name == "rnn_lm") return ModelReads::kTokens;
  if (name == "nic") return ModelReads::kImagesAndTokens;
  if (name == "faster_rcnn" || name == "rcnn") return ModelReads::kImagesAndBoxes;
  return ModelReads::kImages;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

ModelBuilder read_model_options(const std::string& name, SpecReader& r) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string list;
    for (const std::string& n : model_names()) list += (list.empty() ? "" : ", ") + n;
    r.problem("name", "must be one of " + list + ", got \"" + name + "\"");
    return nullptr;
  }
  return it->second(r);
}

std::shared_ptr<Module> build_model(const std::string& name, const ModelConfig& cfg,
                                    std::mt19937_64& rng, const nlohmann::json& options) {
  std::vector<SpecProblem> problems;
  ModelBuilder builder;
  {
    // null (an empty initializer list) means no options.
    SpecReader r(options.is_null() ? nlohmann::json::object() : options, "", problems);
    builder = read_model_options(name, r);
  }
  if (!problems.empty()) {
    std::ostringstream os;
    os << "model '" << name << "': " << format_problems(problems);
    if (!builder) {
      os << "; known models:";
      for (const std::string& n : model_names()) os << " " << n;
    }
    throw ops::Error(os.str());
  }
  return builder(cfg, rng);
}

}  // namespace ringmaster::models

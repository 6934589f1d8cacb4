// COCO-style captions loader (see coco_captions.h): the JSON read with bounds,
// its images indexed by id, the captions gathered per image, then each
// captioned image decoded into one (N, C, S, S) tensor.
#include "models/coco_captions.h"

#include <cctype>

#include "models/coco_json.h"
#include "models/image_folder.h"
#include "ops/check.h"

namespace ringmaster::models {

std::string caption_words(const std::string& caption, int64_t max_words) {
  std::string out, word;
  int64_t words = 0;
  auto flush = [&] {
    if (!word.empty() && words < max_words) {
      out += (out.empty() ? "" : " ") + word;
      ++words;
    }
    word.clear();
  };
  for (const char ch : caption) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c))
      word.push_back(static_cast<char>(std::tolower(c)));
    else
      flush();
  }
  flush();
  return out;
}

CaptionedImages load_coco_captions(const std::string& annotations, const std::string& images,
                                   const CocoCaptionOptions& o) {
  const nlohmann::json j = read_coco_file(annotations, o.max_bytes, "captions");
  const CocoImageList list = read_coco_images(j, annotations, images);
  const std::vector<std::string>& paths = list.paths;
  std::vector<std::vector<std::string>> captions(paths.size());
  for (size_t i = 0; i < j["annotations"].size(); ++i) {
    const nlohmann::json& a = j["annotations"][i];
    const std::string where = annotations + ": annotations[" + std::to_string(i) + "]";
    const size_t image = list.of(a, where);
    const std::string words = caption_words(coco_string(a, "caption", where), o.max_words);
    if (!words.empty()) captions[image].push_back(words);
  }
  CaptionedImages out;
  std::vector<size_t> kept;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!captions[i].empty()) kept.push_back(i);
  RM_THROW_IF(kept.empty(), annotations, ": no image has a caption");
  const auto n = static_cast<int64_t>(kept.size());
  const int64_t per = o.channels * o.size * o.size;
  out.images.images = ops::Tensor::empty({n, o.channels, o.size, o.size}, ops::DType::u8);
  for (int64_t k = 0; k < n; ++k) {
    const size_t i = kept[static_cast<size_t>(k)];
    const std::vector<uint8_t> planes = read_image_planes(paths[i], o.channels, o.size);
    std::copy(planes.begin(), planes.end(), out.images.images.data<uint8_t>() + k * per);
    std::vector<std::string> refs;
    for (int64_t r = 0; r < o.references; ++r)
      refs.push_back(captions[i][static_cast<size_t>(r) % captions[i].size()]);
    out.captions.push_back(std::move(refs));
  }
  out.images.labels.assign(static_cast<size_t>(n), 0);
  out.images.num_classes = 1;
  return out;
}

}  // namespace ringmaster::models

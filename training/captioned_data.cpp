// What the captioning data sets share: a word vocabulary from the training
// sentences, and both splits' sentences as token ids (see data_sets.h).
#include "models/text_corpus.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

models::Dataset with_captions(models::CaptionedImages c,
                              std::shared_ptr<const models::Vocabulary> vocab, bool drop_unknown) {
  if (drop_unknown)
    for (auto& set : c.captions)
      for (std::string& s : set) s = models::drop_unknown_words(*vocab, s);
  models::Dataset ds = std::move(c.images);
  ds.tokens = models::encode_captions(*vocab, c.captions);
  ds.num_classes = static_cast<int>(vocab->size());
  ds.vocab = std::move(vocab);
  return ds;
}

}  // namespace

TrainTestData captioned_train_test(models::CaptionedImages train, models::CaptionedImages test,
                                   int64_t min_count, bool drop_unknown) {
  auto vocab = std::make_shared<const models::Vocabulary>(
      models::word_vocabulary(train.captions, min_count));
  return TrainTestData{with_captions(std::move(train), vocab, false),
                       with_captions(std::move(test), vocab, drop_unknown)};
}

}  // namespace ringmaster::training

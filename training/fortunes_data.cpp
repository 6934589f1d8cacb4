// fortunes (language model): Debian's fortune-mod quotes
// (/usr/share/games/fortunes, installed by scripts/install-deps.sh), split by
// quote into train and test (test_fraction, default 0.1; split_seed, default
// 1, fixed so that train.seed does not move the test set), a byte vocabulary
// from the training quotes, and each split cut into windows of seq_len + 1
// tokens (default 100; models/text_corpus.h).
#include "models/text_corpus.h"
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry fortunes_data_set() {
  return {TaskKind::kLanguageModel, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            HeldOutSplit split = read_held_out_split(r, 100);
            if (split.split_seed < 0) split.split_seed = 1;
            int64_t seq_len = 100;
            r.integer("seq_len", seq_len, 1, 4096);
            const std::string dir = path.empty() ? "/usr/share/games/fortunes" : path;
            return [dir, split, seq_len](uint64_t) {
              const std::vector<std::string> quotes = models::load_fortunes(dir);
              const auto n = static_cast<int64_t>(quotes.size());
              const int64_t test_count = n * split.test_permille / 1000;
              const std::vector<int64_t> order =
                  models::epoch_permutation(n, static_cast<uint64_t>(split.split_seed), 0);
              std::vector<std::string> train, test;
              for (int64_t i = 0; i < n; ++i)
                (i < n - test_count ? train : test)
                    .push_back(quotes[static_cast<size_t>(order[static_cast<size_t>(i)])]);
              auto vocab =
                  std::make_shared<const models::Vocabulary>(models::byte_vocabulary(train));
              TrainTestData out{models::make_text_windows(train, vocab, seq_len), {}};
              out.test = test.empty() ? models::subset(out.train, 0)
                                      : models::make_text_windows(test, vocab, seq_len);
              return out;
            };
          }};
}

}  // namespace ringmaster::training

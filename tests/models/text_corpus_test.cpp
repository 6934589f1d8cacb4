// Text data: the vocabulary's special ids, byte vocabularies and their
// round trip, fortune files read quote by quote (the '%' lines, files with
// a '.' skipped), windows that overlap by one token, and the errors that
// name the folder.
#include "models/text_corpus.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "error_of.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("rm-text-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

TEST(TextCorpus, SpecialTokensComeFirstAndUnknownsMapToUnk) {
  const Vocabulary v({"a", "b"});
  EXPECT_EQ(v.size(), 6);
  EXPECT_EQ(v.token(Vocabulary::kPad), "<pad>");
  EXPECT_EQ(v.token(Vocabulary::kEnd), "<end>");
  EXPECT_EQ(v.id("a"), 4);
  EXPECT_EQ(v.id("b"), 5);
  EXPECT_EQ(v.id("zz"), Vocabulary::kUnk);
}

TEST(TextCorpus, BytesRoundTripAndUnseenBytesAreUnk) {
  const Vocabulary v = byte_vocabulary({"hello", "world"});
  EXPECT_EQ(v.size(), 4 + 7);  // d e h l o r w
  const std::vector<int64_t> ids = encode_bytes(v, "hold");
  EXPECT_EQ(decode_bytes(v, ids), "hold");
  const std::vector<int64_t> unk = encode_bytes(v, "hex");
  EXPECT_EQ(unk[2], Vocabulary::kUnk);
  EXPECT_EQ(decode_bytes(v, unk), "he");  // <unk> is not text
  EXPECT_EQ(decode_bytes(v, {v.id("h"), Vocabulary::kEnd, v.id("w")}), "h\nw");
}

TEST(TextCorpus, FortuneFilesAreReadQuoteByQuoteInNameOrder) {
  TempDir d;
  d.write("beta", "second one\n%\n%\nthird\nwith two lines\n%\n");
  d.write("alpha", "first\n%\n");
  d.write("alpha.dat", "binary index, not quotes\n%\nnot this\n");
  fs::create_directories(d.path / "sub");
  const std::vector<std::string> q = load_fortunes(d.path.string());
  EXPECT_EQ(q, (std::vector<std::string>{"first", "second one", "third\nwith two lines"}));
}

TEST(TextCorpus, MissingOrEmptyFoldersAreErrorsNamingThem) {
  EXPECT_NE(error_of([] { load_fortunes("/nonexistent/fortunes"); }).find("/nonexistent/fortunes"),
            std::string::npos);
  TempDir d;
  d.write("empty", "%\n%\n");
  EXPECT_NE(error_of([&] { load_fortunes(d.path.string()); }).find("no fortune files with quotes"),
            std::string::npos);
}

TEST(TextCorpus, WindowsOverlapByOneTokenAndEndEachText) {
  auto v = std::make_shared<const Vocabulary>(byte_vocabulary({"abcde"}));
  // Stream: a b c <end> d e <end> (7 tokens); windows of 3 start at 0, 2, 4.
  const Dataset ds = make_text_windows({"abc", "de"}, v, 2);
  ASSERT_EQ(ds.tokens.shape(), (ops::Shape{3, 3}));
  EXPECT_FALSE(ds.images.defined());
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.num_classes, v->size());
  const int64_t* t = ds.tokens.data<int64_t>();
  const int64_t a = v->id("a"), b = v->id("b"), c = v->id("c"), dd = v->id("d"), e = v->id("e");
  const std::vector<int64_t> want = {a, b, c, c, Vocabulary::kEnd, dd, dd, e, Vocabulary::kEnd};
  EXPECT_EQ(std::vector<int64_t>(t, t + 9), want);
  // A subset keeps tokens and the vocabulary.
  const Dataset one = subset(ds, std::vector<int64_t>{2});
  EXPECT_EQ(one.tokens.data<int64_t>()[0], dd);
  EXPECT_EQ(one.vocab, v);
  EXPECT_NE(error_of([&] { make_text_windows({"a"}, v, 5); }).find("make no window"),
            std::string::npos);
}

TEST(TextCorpus, BatchesCarryTheWindowsAndNoImages) {
  auto v = std::make_shared<const Vocabulary>(byte_vocabulary({"abcdefgh"}));
  const Dataset ds = make_text_windows({"abcdefgh"}, v, 2);  // 9 tokens: 4 windows
  BatchLoader loader(ds, BatchLoaderOptions{.batch_size = 3, .shuffle = false});
  const std::optional<Batch> b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->images.defined());
  ASSERT_EQ(b->tokens.shape(), (ops::Shape{3, 3}));
  EXPECT_EQ(b->tokens.data<int64_t>()[3], v->id("c"));  // window 1 starts at token 2
}

TEST(TextCorpus, TheInstalledFortunesHaveThousandsOfQuotes) {
  const std::string dir = "/usr/share/games/fortunes";
  if (!fs::exists(dir + "/fortunes")) GTEST_SKIP() << dir << " missing (Debian's fortunes)";
  const std::vector<std::string> q = load_fortunes(dir);
  EXPECT_GT(q.size(), 10000u);
  for (const std::string& s : q) ASSERT_FALSE(s.empty());
}

}  // namespace
}  // namespace ringmaster::models

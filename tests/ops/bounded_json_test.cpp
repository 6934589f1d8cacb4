// parse_bounded_json: what a hostile peer or client can send. Depth at the
// limit passes and one more fails (arrays and objects, 100,000 deep without
// touching the stack), duplicate keys are named at any depth, anything after
// the value fails (a NUL too), and an error never quotes the input.
#include "ops/bounded_json.h"

#include <gtest/gtest.h>

namespace ringmaster::ops {
namespace {

std::string nested(int depth, char open, char close, const std::string& inner = "1") {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open == '{' ? std::string("{\"k\":") : std::string(1, open);
  s += inner;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

TEST(BoundedJson, DepthUpToTheLimitParsesAndOneMoreFails) {
  for (auto [open, close] : {std::pair{'[', ']'}, std::pair{'{', '}'}}) {
    const JsonParse ok = parse_bounded_json(nested(kMaxJsonDepth, open, close));
    EXPECT_TRUE(ok.error.empty()) << ok.error;
    const JsonParse deep = parse_bounded_json(nested(kMaxJsonDepth + 1, open, close));
    EXPECT_EQ(deep.error, "nested deeper than 64 levels");
    EXPECT_TRUE(deep.value.is_discarded());
  }
  // Far deeper, unbalanced or not: refused at level 65, no stack used up.
  EXPECT_EQ(parse_bounded_json(std::string(100000, '[')).error, "nested deeper than 64 levels");
  EXPECT_EQ(parse_bounded_json(nested(100000, '{', '}')).error, "nested deeper than 64 levels");
}

TEST(BoundedJson, DuplicateKeysAreNamedAtAnyDepth) {
  EXPECT_EQ(parse_bounded_json(R"({"a": 1, "a": 2})").error, "duplicate key \"a\"");
  EXPECT_EQ(parse_bounded_json(R"({"t": {"x": [{"lr": 1, "lr": 1}]}})").error,
            "duplicate key \"lr\"");
  // The same key in sibling objects is fine.
  EXPECT_TRUE(parse_bounded_json(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}}])").error.empty());
}

TEST(BoundedJson, NothingButWhitespaceMayFollowTheValue) {
  EXPECT_TRUE(parse_bounded_json(" {\"a\": 1} \n\t").error.empty());
  for (const std::string& bad : {std::string("{} x"), std::string("{}{}"), std::string("{}\0", 3),
                                 std::string("1 2"), std::string("")}) {
    const JsonParse p = parse_bounded_json(bad);
    EXPECT_EQ(p.error.rfind("not valid JSON (a", 0), 0u) << p.error;
  }
}

TEST(BoundedJson, ANumberBeyondADoubleIsNamedByItsKeys) {
  JsonParse p = parse_bounded_json(R"({"train": {"epochs": 1e400}})");
  EXPECT_EQ(p.error, "a number too large for a double");
  EXPECT_EQ(p.pointer, "/train/epochs");
  p = parse_bounded_json(R"({"a/b": [{"c~": -1e999}]})");
  EXPECT_EQ(p.pointer, "/a~1b/c~0");
  EXPECT_TRUE(parse_bounded_json("[1e308, -1e308, 123456789012345678901234567890]").error.empty());
}

TEST(BoundedJson, AnErrorDoesNotQuoteTheInput) {
  const JsonParse p = parse_bounded_json("{\"a\": s3cret-token}");
  EXPECT_EQ(p.error.find("s3cret"), std::string::npos) << p.error;
}

}  // namespace
}  // namespace ringmaster::ops

// Test helper: IDX files as Fashion-MNIST ships them (big-endian header,
// u8 data, gzipped), written with chosen headers and contents, for the tests
// of the IDX loader and of what load_data accepts.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>

namespace ringmaster::testing_support {

inline void put_be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}

inline void write_gz(const std::string& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr) << p;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

// An images file's bytes: the header as given, then `data` bytes i % 251.
inline std::string idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                              size_t data) {
  std::string s;
  for (uint32_t v : {magic, n, rows, cols}) put_be32(s, v);
  for (size_t i = 0; i < data; ++i) s.push_back(static_cast<char>(i % 251));
  return s;
}

// A labels file's bytes: the header as given, then `data` labels i % classes.
inline std::string idx_labels(uint32_t magic, uint32_t n, size_t data, uint32_t classes = 10) {
  std::string s;
  put_be32(s, magic);
  put_be32(s, n);
  for (size_t i = 0; i < data; ++i) s.push_back(static_cast<char>(i % classes));
  return s;
}

}  // namespace ringmaster::testing_support

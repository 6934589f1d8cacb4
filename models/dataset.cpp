// Data set loading (IDX, digits CSV) through zlib, subsets, the epoch
// permutation and the prefetching batch loader (see dataset.h).
#include "models/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "models/instance_boxes.h"
#include "ops/check.h"

namespace ringmaster::models {

namespace {

// A gzip (or plain) file read through zlib; closes on destruction.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    f_ = gzopen(path.c_str(), "rb");
    RM_THROW_IF(f_ == nullptr, path, ": cannot open: ", std::strerror(errno));
    gzbuffer(f_, 1 << 17);
  }
  ~GzFile() {
    if (f_ != nullptr) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Up to n bytes; fewer only at the end of the stream. Throws on a zlib
  // error (corrupt data, bad CRC) and on a gzip stream cut short (zlib hands
  // over what it had and reports Z_BUF_ERROR), naming what was being read.
  size_t read_some(void* dst, size_t n, const char* what) {
    size_t done = 0;
    auto* p = static_cast<unsigned char*>(dst);
    while (done < n) {
      const unsigned chunk =
          static_cast<unsigned>(std::min<size_t>(n - done, std::numeric_limits<int>::max() / 2));
      const int got = gzread(f_, p + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        throw ops::Error(path_ + ": corrupt gzip data while reading " + what + ": " +
                         (msg ? msg : "unknown zlib error"));
      }
      if (got == 0) {
        int code = Z_OK;
        gzerror(f_, &code);
        RM_THROW_IF(code == Z_BUF_ERROR, path_, ": truncated gzip file: it ends inside its ",
                    "compressed stream (while reading ", what, ")");
        break;
      }
      done += static_cast<size_t>(got);
    }
    return done;
  }

  // Exactly n bytes, else "truncated".
  void read_exact(void* dst, size_t n, const char* what) {
    const size_t got = read_some(dst, n, what);
    RM_THROW_IF(got != n, path_, ": truncated: expected ", n, " bytes of ", what, ", got ", got);
  }

  uint32_t read_be32(const char* what) {
    unsigned char b[4];
    read_exact(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

  // Throws when anything follows the expected data. Reading to the end also
  // makes zlib check the gzip CRC and length trailer.
  void expect_end(const char* after) {
    unsigned char b[256];
    const size_t extra = read_some(b, sizeof b, "the end of the file");
    RM_THROW_IF(extra != 0, path_, ": unexpected bytes after ", after,
                " (the header's counts do not match the file)");
  }

  std::string read_all() {
    std::string out;
    char buf[1 << 16];
    for (;;) {
      const size_t got = read_some(buf, sizeof buf, "text");
      if (got == 0) break;
      out.append(buf, got);
    }
    return out;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) by rejection (no modulo bias).
uint64_t bounded(uint64_t& state, uint64_t bound) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  for (;;) {
    const uint64_t r = splitmix64(state);
    if (r < limit) return r % bound;
  }
}

void check_dataset(const Dataset& ds) {
  RM_CHECK(!ds.tokens.defined() ||
               (ds.tokens.dtype() == ops::DType::i64 &&
                (ds.tokens.ndim() == 2 || ds.tokens.ndim() == 3) && ds.tokens.device().is_cpu() &&
                ds.tokens.is_plain() && ds.tokens.dim(0) == ds.size() && ds.vocab != nullptr),
           "a Dataset's tokens are (N, L) or (N, R, L) i64 cpu with a vocabulary; got ",
           ops::to_string(ds.tokens), " for ", ds.size(), " labels");
  if (!ds.images.defined() && ds.tokens.defined()) return;  // text
  RM_CHECK(ds.images.defined() && ds.images.dtype() == ops::DType::u8 && ds.images.ndim() == 4 &&
               ds.images.device().is_cpu() && ds.images.is_plain() && ds.images.dim(0) == ds.size(),
           "a Dataset holds (N, C, H, W) u8 cpu images and N labels; got ",
           ops::to_string(ds.images), " and ", ds.size(), " labels");
  RM_CHECK(!ds.masks.defined() ||
               (ds.masks.dtype() == ops::DType::u8 && ds.masks.is_plain() &&
                ds.masks.shape() == ops::Shape{ds.size(), ds.images.dim(2), ds.images.dim(3)}),
           "a Dataset's masks are (N, H, W) u8 for images ", ops::to_string(ds.images), "; got ",
           ops::to_string(ds.masks));
  RM_CHECK(!ds.instance_classes.defined() ||
               (ds.masks.defined() && ds.instance_classes.dtype() == ops::DType::i64 &&
                ds.instance_classes.is_plain() && ds.instance_classes.ndim() == 2 &&
                ds.instance_classes.dim(0) == ds.size() && ds.instance_classes.dim(1) <= 255),
           "a Dataset's instance_classes are (N, M <= 255) i64 beside instance masks; got ",
           ops::to_string(ds.instance_classes), " for ", ds.size(), " labels");
}

// Rows `indices` of a plain (N, ...) tensor, copied.
ops::Tensor gather_rows(const ops::Tensor& t, const std::vector<int64_t>& indices) {
  ops::Shape shape = t.shape();
  const int64_t n = shape[0];
  shape[0] = static_cast<int64_t>(indices.size());
  ops::Tensor out = ops::Tensor::empty(shape, t.dtype());
  const size_t row = n > 0 ? t.nbytes() / static_cast<size_t>(n) : 0;
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t k = indices[i];
    RM_THROW_IF(k < 0 || k >= n, "subset: index ", k, " outside a data set of ", n);
    std::memcpy(dst + i * row, src + static_cast<size_t>(k) * row, row);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"t-shirt", "trouser",   "pullover", "dress",
                                                 "coat",    "sandal",    "shirt",    "sneaker",
                                                 "bag",     "ankle boot"};
  return names;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  GzFile img(images_path);
  const uint32_t img_magic = img.read_be32("the header");
  // Errors never echo bytes of a file that is not the expected format.
  RM_THROW_IF(img_magic != 0x803, images_path,
              ": not an IDX file of u8 images (its first 4 bytes are not 0x00000803)");
  const uint32_t n = img.read_be32("the header");
  const uint32_t rows = img.read_be32("the header");
  const uint32_t cols = img.read_be32("the header");
  RM_THROW_IF(n == 0 || rows == 0 || cols == 0 || rows > 65536 || cols > 65536, images_path,
              ": implausible shape (", n, ", ", rows, ", ", cols, ")");

  GzFile lab(labels_path);
  const uint32_t lab_magic = lab.read_be32("the header");
  RM_THROW_IF(lab_magic != 0x801, labels_path,
              ": not an IDX file of u8 labels (its first 4 bytes are not 0x00000801)");
  const uint32_t nl = lab.read_be32("the header");
  RM_THROW_IF(nl != n, labels_path, ": ", nl, " labels for ", n, " images in ", images_path);

  Dataset ds;
  ds.images = ops::Tensor::empty({n, 1, rows, cols}, ops::DType::u8);
  img.read_exact(ds.images.raw(), ds.images.nbytes(), "image data");
  img.expect_end("the image data");

  std::vector<uint8_t> raw(n);
  lab.read_exact(raw.data(), raw.size(), "label data");
  lab.expect_end("the label data");
  ds.labels.assign(raw.begin(), raw.end());
  ds.num_classes = 1 + *std::max_element(raw.begin(), raw.end());
  return ds;
}

Dataset load_digits_csv(const std::string& path) {
  GzFile f(path);
  const std::string text = f.read_all();
  constexpr int kPixels = 64;
  std::vector<uint8_t> pixels;
  Dataset ds;
  size_t pos = 0;
  int64_t line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string row = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty()) continue;
    int values[kPixels + 1];
    int count = 0;
    const char* p = row.c_str();
    for (;;) {
      char* after = nullptr;
      errno = 0;
      const long v = std::strtol(p, &after, 10);
      // A value may be written as "3" or "3.0".
      bool ok = after != p && errno == 0;
      if (ok && *after == '.') {
        ++after;
        while (*after == '0') ++after;
      }
      while (ok && (*after == ' ' || *after == '\t')) ++after;
      ok = ok && (*after == ',' || *after == '\0');
      RM_THROW_IF(!ok, path, ": line ", line, ": value ", count + 1, " is not an integer");
      RM_THROW_IF(count > kPixels, path, ": line ", line, ": more than ", kPixels + 1, " values");
      values[count++] = static_cast<int>(v);
      if (*after == '\0') break;
      p = after + 1;
    }
    RM_THROW_IF(count != kPixels + 1, path, ": line ", line, ": ", count, " values, want ",
                kPixels + 1, " (64 pixels and a label)");
    for (int i = 0; i < kPixels; ++i) {
      RM_THROW_IF(values[i] < 0 || values[i] > 16, path, ": line ", line, ": pixel ", i,
                  " is outside 0..16");
      pixels.push_back(static_cast<uint8_t>(values[i] * 255 / 16));
    }
    RM_THROW_IF(values[kPixels] < 0 || values[kPixels] > 9, path, ": line ", line,
                ": the label is outside 0..9");
    ds.labels.push_back(values[kPixels]);
  }
  RM_THROW_IF(ds.labels.empty(), path, ": no rows");
  ds.images = ops::Tensor::empty({ds.size(), 1, 8, 8}, ops::DType::u8);
  std::memcpy(ds.images.raw(), pixels.data(), pixels.size());
  ds.num_classes = 10;
  return ds;
}

Dataset subset(const Dataset& ds, const std::vector<int64_t>& indices) {
  check_dataset(ds);
  Dataset out;
  out.num_classes = ds.num_classes;
  out.vocab = ds.vocab;
  out.class_names = ds.class_names;
  for (const int64_t k : indices) {
    RM_THROW_IF(k < 0 || k >= ds.size(), "subset: index ", k, " outside a data set of ", ds.size());
    out.labels.push_back(ds.labels[static_cast<size_t>(k)]);
  }
  if (ds.images.defined()) out.images = gather_rows(ds.images, indices);
  if (ds.masks.defined()) out.masks = gather_rows(ds.masks, indices);
  if (ds.instance_classes.defined())
    out.instance_classes = gather_rows(ds.instance_classes, indices);
  out.min_visible = ds.min_visible;
  if (ds.tokens.defined()) out.tokens = gather_rows(ds.tokens, indices);
  return out;
}

Dataset subset(const Dataset& ds, int64_t n) {
  RM_THROW_IF(n < 0 || n > ds.size(), "subset: ", n, " samples asked of a data set of ", ds.size());
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  return subset(ds, idx);
}

std::pair<Dataset, Dataset> split(const Dataset& ds, int64_t first_count,
                                  std::optional<uint64_t> shuffle_seed) {
  RM_THROW_IF(first_count < 0 || first_count > ds.size(), "split: ", first_count,
              " samples asked of a data set of ", ds.size());
  std::vector<int64_t> order;
  if (shuffle_seed) {
    order = epoch_permutation(ds.size(), *shuffle_seed, 0);
  } else {
    order.resize(static_cast<size_t>(ds.size()));
    for (int64_t i = 0; i < ds.size(); ++i) order[static_cast<size_t>(i)] = i;
  }
  const auto mid = order.begin() + first_count;
  return {subset(ds, std::vector<int64_t>(order.begin(), mid)),
          subset(ds, std::vector<int64_t>(mid, order.end()))};
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  RM_CHECK(n >= 0, "permutation of ", n);
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  uint64_t s0 = seed;
  uint64_t state = splitmix64(s0) ^ (static_cast<uint64_t>(epoch) * 0xd1b54a32d192ed03ULL);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const auto j = static_cast<int64_t>(bounded(state, static_cast<uint64_t>(i) + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

// ---- BatchLoader -----------------------------------------------------------------

BatchLoader::BatchLoader(Dataset ds, int64_t batch_size, uint64_t seed, int64_t epoch, bool shuffle,
                         bool drop_last)
    : BatchLoader(std::move(ds), BatchLoaderOptions{.batch_size = batch_size,
                                                    .seed = seed,
                                                    .epoch = epoch,
                                                    .shuffle = shuffle,
                                                    .drop_last = drop_last}) {}

BatchLoader::BatchLoader(Dataset ds, BatchLoaderOptions options)
    : ds_(std::move(ds)), opt_(std::move(options)) {
  check_dataset(ds_);
  const int64_t channels = ds_.images.defined() ? ds_.images.dim(1) : 0;
  RM_THROW_IF(opt_.batch_size <= 0, "batch loader: batch_size must be > 0, got ", opt_.batch_size);
  RM_THROW_IF(opt_.epoch < 0, "batch loader: epoch must be >= 0, got ", opt_.epoch);
  RM_THROW_IF(opt_.world_size <= 0 || opt_.rank < 0 || opt_.rank >= opt_.world_size,
              "batch loader: rank ", opt_.rank, " outside world_size ", opt_.world_size);
  RM_THROW_IF(opt_.mean.size() != opt_.std.size(),
              "batch loader: mean and std need the same number of values");
  RM_THROW_IF(!opt_.mean.empty() && opt_.mean.size() != 1 &&
                  static_cast<int64_t>(opt_.mean.size()) != channels,
              "batch loader: mean/std have ", opt_.mean.size(), " values for ", channels,
              " channels");
  for (float s : opt_.std) RM_THROW_IF(!(s > 0), "batch loader: std must be > 0, got ", s);

  std::vector<int64_t> epoch_order;
  if (opt_.shuffle) {
    epoch_order = epoch_permutation(ds_.size(), opt_.seed, opt_.epoch);
  } else {
    epoch_order.resize(static_cast<size_t>(ds_.size()));
    for (int64_t i = 0; i < ds_.size(); ++i) epoch_order[static_cast<size_t>(i)] = i;
  }
  order_ = std::move(epoch_order);
  const auto n = static_cast<int64_t>(order_.size());
  num_batches_ = opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
  RM_THROW_IF(opt_.start_batch < 0 || opt_.start_batch > num_batches_, "batch loader: start_batch ",
              opt_.start_batch, " outside 0..", num_batches_);
  next_batch_ = opt_.start_batch;
  if (opt_.prefetch) worker_ = std::thread([this] { run(); });
}

BatchLoader::~BatchLoader() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

Batch BatchLoader::make_batch(int64_t b) const {
  // Global batch b is order_[b * batch_size, + global); this rank's share is
  // the r-th of world_size near-equal contiguous slices of it.
  const int64_t global_begin = b * opt_.batch_size;
  const int64_t global =
      std::min<int64_t>(opt_.batch_size, static_cast<int64_t>(order_.size()) - global_begin);
  const int64_t w = opt_.world_size, r = opt_.rank;
  const int64_t begin = global_begin + global * r / w;
  const int64_t count = global_begin + global * (r + 1) / w - begin;
  Batch out;
  out.index = b;
  out.epoch = opt_.epoch;
  out.global_size = global;
  out.indices.assign(order_.begin() + begin, order_.begin() + begin + count);
  out.labels = ops::Tensor::empty({count}, ops::DType::i64);
  int64_t* labels = out.labels.data<int64_t>();
  for (int64_t i = 0; i < count; ++i)
    labels[i] = ds_.labels[static_cast<size_t>(out.indices[static_cast<size_t>(i)])];
  if (ds_.tokens.defined()) out.tokens = gather_rows(ds_.tokens, out.indices);
  if (ds_.images.defined()) fill_images(out);
  return out;
}

void BatchLoader::fill_images(Batch& out) const {
  const ops::Shape& s = ds_.images.shape();
  const int64_t c = s[1], hw = s[2] * s[3], per = c * hw;
  const auto count = static_cast<int64_t>(out.indices.size());
  out.images = ops::Tensor::empty({count, c, s[2], s[3]});
  if (ds_.masks.defined())
    out.masks = ops::Tensor::empty({count, s[2], s[3]}, ops::DType::i64);  // (B, H, W)
  // y = x * scale[c] + shift[c], folding x / 255 and (x - mean) / std.
  std::vector<float> scale(static_cast<size_t>(c), 1.0f / 255.0f), shift(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c && !opt_.mean.empty(); ++ch) {
    const size_t k = opt_.mean.size() == 1 ? 0 : static_cast<size_t>(ch);
    scale[static_cast<size_t>(ch)] = 1.0f / (255.0f * opt_.std[k]);
    shift[static_cast<size_t>(ch)] = -opt_.mean[k] / opt_.std[k];
  }
  const uint8_t* src = ds_.images.data<uint8_t>();
  float* dst = out.images.data<float>();
  const bool masks = ds_.masks.defined();
  const int64_t items = ds_.instance_classes.defined() ? ds_.instance_classes.dim(1) : 0;
  if (items > 0) {
    out.boxes = ops::Tensor::empty({count, items, 4});                      // (B, M, 4)
    out.box_classes = ops::Tensor::empty({count, items}, ops::DType::i64);  // (B, M)
  }
  std::vector<uint8_t> scratch(opt_.augment ? static_cast<size_t>(per) : 0);  // (C, H, W)
  std::vector<uint8_t> scratch_mask(opt_.augment && masks ? static_cast<size_t>(hw) : 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = out.indices[static_cast<size_t>(i)];
    const uint8_t* sample = src + k * per;
    const uint8_t* mask = masks ? ds_.masks.data<uint8_t>() + k * hw : nullptr;
    std::vector<int64_t> before;  // detection: item pixels before augmentation
    VisibilityRule rule{.min_visible = ds_.min_visible};
    if (opt_.augment) {
      if (items > 0) before = instance_pixel_counts(mask, s[2], s[3], items);
      std::copy_n(sample, per, scratch.data());
      if (masks) std::copy_n(mask, hw, scratch_mask.data());
      rule.area_scale = opt_.augment->apply(scratch.data(), c, s[2], s[3], opt_.seed, opt_.epoch, k,
                                            masks ? scratch_mask.data() : nullptr);
      rule.before = items > 0 ? before.data() : nullptr;
      sample = scratch.data();
      if (masks) mask = scratch_mask.data();
    }
    if (masks) std::copy_n(mask, hw, out.masks.data<int64_t>() + i * hw);
    if (items > 0)
      write_instance_boxes(mask, s[2], s[3], ds_.instance_classes.data<int64_t>() + k * items,
                           items, rule, out.boxes.data<float>() + i * items * 4,
                           out.box_classes.data<int64_t>() + i * items);
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t* x = sample + ch * hw;
      float* y = dst + i * per + ch * hw;
      const float a = scale[static_cast<size_t>(ch)], z = shift[static_cast<size_t>(ch)];
      for (int64_t j = 0; j < hw; ++j) y[j] = static_cast<float>(x[j]) * a + z;
    }
  }
}

void BatchLoader::run() {
  try {
    for (int64_t b = opt_.start_batch; b < num_batches_; ++b) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !ready_.has_value(); });
        if (stop_) return;
      }
      Batch batch = make_batch(b);  // outside the lock: the caller trains meanwhile
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_ = std::move(batch);
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    producer_done_ = true;
  }
  cv_.notify_all();
}

std::optional<Batch> BatchLoader::next() {
  if (!opt_.prefetch) {
    if (next_batch_ >= num_batches_) return std::nullopt;
    return make_batch(next_batch_++);
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return ready_.has_value() || producer_done_; });
  if (ready_.has_value()) {
    std::optional<Batch> out = std::move(ready_);
    ready_.reset();
    lock.unlock();
    cv_.notify_all();
    return out;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

}  // namespace ringmaster::models

// In-memory image classification data sets and a batch loader. Loads MNIST-
// style IDX files (gzip, e.g. Fashion-MNIST) and scikit-learn's digits CSV
// into u8 images; the loader shuffles by a pure function of (seed, epoch),
// shards by rank like torch's DistributedSampler, converts to normalised f32
// batches and prepares the next batch on a background thread, augmenting
// each sample (augment.h) when asked. No lazy/streaming loading: everything
// is in memory.
//
// Errors: bad or truncated files throw ops::Error naming the file and the
// problem. Bad loader options throw ops::Error; misuse of the API (a
// malformed Dataset) aborts through RM_CHECK.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "models/augment.h"
#include "ops/tensor.h"

namespace ringmaster::models {

class Vocabulary;  // text_corpus.h

// images: (N, C, H, W) u8 on the cpu; labels: N values in [0, num_classes).
// Copies share the image storage (read-only after loading). Text data
// (text_corpus.h) has tokens instead of images, and labels 0.
struct Dataset {
  ops::Tensor images;
  std::vector<int64_t> labels;
  int num_classes = 0;
  // Segmentation data only: (N, H, W) u8, the class of every pixel (labels
  // then hold one class per image, unused by training); undefined otherwise.
  ops::Tensor masks;
  // Detection data only: (N, M) i64, the class of each image's k-th item
  // (-1: none or unlabelled); masks then hold instance ids (0 none, k + 1
  // item k) instead of classes, and the batch loader gives each image the
  // tight boxes of its items' visible pixels (instance_boxes.h), dropping an
  // item that geometric augmentation leaves less than min_visible visible.
  ops::Tensor instance_classes;
  double min_visible = 0.5;
  // Sequence data only: (N, L) i64 token ids per sample (text windows), or
  // (N, R, L) (R reference captions of each image), and their
  // vocabulary (num_classes is then its size); undefined / null otherwise.
  ops::Tensor tokens;
  std::shared_ptr<const Vocabulary> vocab;
  // The classes' names, index = class (empty: unnamed); what commands print.
  std::vector<std::string> class_names;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// IDX (gzip or plain): images magic 0x803 (N, H, W), labels magic 0x801 (N),
// big-endian u32 header fields. Gives (N, 1, H, W); num_classes = max label + 1.
// Blocks while reading.
Dataset load_idx(const std::string& images_gz_path, const std::string& labels_gz_path);

// Fashion-MNIST's ten class names, by label ("t-shirt", "trouser", ...,
// "ankle boot"), lower case.
const std::vector<std::string>& fashion_mnist_class_names();

// scikit-learn's digits.csv.gz: rows of 64 integers 0..16 (an 8x8 image)
// and a label 0..9; pixels scaled to 0..255 as v * 255 / 16 (integer).
// Gives (N, 1, 8, 8), num_classes 10.
Dataset load_digits_csv(const std::string& path_gz);

// The samples at `indices`, in that order (copied). num_classes is kept.
Dataset subset(const Dataset& ds, const std::vector<int64_t>& indices);
// The first n samples (n <= size, else ops::Error).
Dataset subset(const Dataset& ds, int64_t n);
// (first `first_count` samples, the rest). With a seed, the samples are
// shuffled first by epoch_permutation(size, *seed, 0).
std::pair<Dataset, Dataset> split(const Dataset& ds, int64_t first_count,
                                  std::optional<uint64_t> shuffle_seed = std::nullopt);

// A permutation of 0..n-1 that is a pure function of (seed, epoch): the same
// on every machine, compiler and thread count (own generator, no std::
// distributions).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

struct BatchLoaderOptions {
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int64_t epoch = 0;
  bool shuffle = true;     // false: index order
  bool drop_last = false;  // drop a last batch smaller than batch_size
  // Per channel, applied after x / 255: (x - mean[c]) / std[c]. Empty: none;
  // one value: every channel.
  std::vector<float> mean, std;
  // Shard for data-parallel training: batch_size is the global batch. Every
  // rank sees the same epoch permutation and the same number of batches; of
  // global batch b it takes the rank-th of world_size contiguous, near-equal
  // slices (possibly empty when the batch has fewer samples than ranks). The
  // union over ranks of batch b is exactly batch b of world_size 1, whatever
  // the world size, with no padding or repeated samples.
  int rank = 0;
  int world_size = 1;
  int64_t start_batch = 0;  // skip this many batches (resume mid-epoch)
  // Applied to each sample's u8 pixels before normalisation, keyed by
  // (seed, epoch, dataset index); null: none.
  std::shared_ptr<const Augmenter> augment;
  bool prefetch = true;  // false: build each batch inside next()
};

struct Batch {
  ops::Tensor images;  // (B, C, H, W) f32, plain; undefined for text
  ops::Tensor labels;  // (B) i64
  ops::Tensor masks;   // (B, H, W) i64 when the data set has masks
  // Detection data: (B, M, 4) f32 boxes (x1, y1, x2, y2) in pixels, a pixel
  // (x, y) covering [x, x + 1) x [y, y + 1), and (B, M) i64 their classes;
  // each image's boxes come first, the rest of its M rows are class -1, 0s.
  ops::Tensor boxes, box_classes;
  ops::Tensor tokens;            // (B, L) or (B, R, L) i64 when the data set has tokens
  std::vector<int64_t> indices;  // the dataset indices of the B samples
  int64_t index = 0;             // batch number within the epoch
  int64_t epoch = 0;             // the loader's epoch
  int64_t global_size = 0;       // samples in this global batch over all ranks (B when 1 rank)
};

// One epoch of batches. With prefetch, a background thread builds batch k+1
// while the caller uses batch k (at most one waits ready). Destroying the
// loader mid-epoch stops and joins the thread (after the batch it may be
// building). Use from one thread; next() blocks until a batch is ready.
class BatchLoader {
 public:
  BatchLoader(Dataset ds, BatchLoaderOptions options);
  BatchLoader(Dataset ds, int64_t batch_size, uint64_t seed, int64_t epoch, bool shuffle = true,
              bool drop_last = false);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch, or nullopt after the last one. Rethrows an error the
  // background thread hit.
  std::optional<Batch> next();

  int64_t num_batches() const { return num_batches_; }
  // The epoch's sample order (all ranks), in batch order.
  const std::vector<int64_t>& order() const { return order_; }

 private:
  Batch make_batch(int64_t b) const;
  void fill_images(Batch& out) const;  // out.images (and masks) of out.indices
  void run();

  Dataset ds_;
  BatchLoaderOptions opt_;
  std::vector<int64_t> order_;
  int64_t num_batches_ = 0;
  int64_t next_batch_ = 0;  // next() without prefetch

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Batch> ready_;
  bool producer_done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace ringmaster::models

// roi_targets (see roi_targets.h).
#include "models/roi_targets.h"

#include "models/box_regression.h"
#include "models/detection_tensors.h"
#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/nms.h"
#include "ops/softmax.h"

namespace ringmaster::models {

LabelledRois LabelledRois::rows(const std::vector<int64_t>& order) const {
  LabelledRois s;
  for (const int64_t i : order) {
    const auto u = static_cast<size_t>(i);
    s.boxes.insert(s.boxes.end(), boxes.begin() + i * 4, boxes.begin() + i * 4 + 4);
    s.image.push_back(image[u]);
    s.labels.push_back(labels[u]);
    s.matched.insert(s.matched.end(), matched.begin() + i * 4, matched.begin() + i * 4 + 4);
  }
  return s;
}

LabelledRois sample_rois(const std::vector<std::vector<float>>& proposals,
                         const std::vector<ImageBoxes>& targets, const BoxSampling& s,
                         std::mt19937_64& rng) {
  LabelledRois r;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const ImageBoxes& t = targets[i];
    std::vector<float> candidates = proposals[i];  // and the true boxes themselves
    candidates.insert(candidates.end(), t.boxes.begin(), t.boxes.end());
    const auto c = static_cast<int64_t>(candidates.size() / 4);
    std::vector<float> iou;
    if (t.size() > 0 && c > 0)
      iou = ops::box_iou(ops::Tensor::from_vector(candidates, {c, 4}),
                         ops::Tensor::from_vector(t.boxes, {t.size(), 4}))
                .to_vector();
    const std::vector<int64_t> match =
        match_boxes(iou, c, t.size(), s.fg_iou_thresh, s.bg_iou_thresh, false);
    const BalancedSample drawn =
        sample_balanced(match, s.batch_size_per_image, s.positive_fraction, rng);
    for (const auto* set : {&drawn.positive, &drawn.negative}) {
      for (const int64_t k : *set) {
        const float* b = candidates.data() + k * 4;
        const int64_t g = match[static_cast<size_t>(k)];
        r.boxes.insert(r.boxes.end(), b, b + 4);
        r.image.push_back(static_cast<int64_t>(i));
        r.labels.push_back(g >= 0 ? t.classes[static_cast<size_t>(g)] : 0);
        for (int64_t d = 0; d < 4; ++d)
          r.matched.push_back(g >= 0 ? t.boxes[static_cast<size_t>(g * 4 + d)] : 0.0f);
      }
    }
  }
  return r;
}

std::pair<ops::Tensor, ops::Tensor> roi_losses(const ops::Tensor& scores, const ops::Tensor& deltas,
                                               const LabelledRois& r,
                                               const ops::BoxCoding& coding) {
  const ops::Tensor class_loss =
      ops::softmax_cross_entropy(scores, i64_tensor(r.labels, scores.device()));
  std::vector<int64_t> at;
  std::vector<float> boxes, references;
  const int64_t k = scores.dim(1);
  for (int64_t j = 0; j < r.size(); ++j) {
    const int64_t label = r.labels[static_cast<size_t>(j)];
    if (label <= 0) continue;
    RM_THROW_IF(label >= k, "a box of class ", label, " for ", k, " classes");
    for (int64_t d = 0; d < 4; ++d) {
      at.push_back(j * 4 * k + label * 4 + d);
      boxes.push_back(r.matched[static_cast<size_t>(j * 4 + d)]);
      references.push_back(r.boxes[static_cast<size_t>(j * 4 + d)]);
    }
  }
  return {class_loss, box_regression_loss(deltas, at, boxes, references, coding,
                                          static_cast<double>(r.size()))};
}

ops::Tensor detections_from(const ops::Tensor& scores, const ops::Tensor& deltas,
                            const std::vector<float>& rois, const std::vector<int64_t>& image,
                            int64_t n, const ops::BoxCoding& coding, const DetectionLimits& lim,
                            int64_t image_h, int64_t image_w) {
  const int64_t k = scores.dim(1), d = lim.per_image, r_count = scores.dim(0);
  ops::Tensor out = ops::Tensor::zeros({n, d, 6});
  float* o = out.data<float>();
  for (int64_t i = 0; i < n * d; ++i) o[i * 6 + 5] = -1.0f;
  if (r_count == 0 || k < 2) return out;
  const std::vector<float> p = host_values(ops::softmax(scores, 1));  // (R, K)
  const std::vector<float> dl = host_values(deltas);                  // (R, 4K)
  std::vector<float> pair_deltas, pair_refs;  // every (roi, class >= 1), decoded at once
  for (int64_t j = 0; j < r_count; ++j)
    for (int64_t c = 1; c < k; ++c) {
      pair_deltas.insert(pair_deltas.end(), dl.begin() + (j * k + c) * 4,
                         dl.begin() + (j * k + c) * 4 + 4);
      pair_refs.insert(pair_refs.end(), rois.begin() + j * 4, rois.begin() + j * 4 + 4);
    }
  const int64_t pairs = r_count * (k - 1);
  const std::vector<float> decoded =
      ops::decode_boxes(ops::Tensor::from_vector(pair_deltas, {pairs, 4}),
                        ops::Tensor::from_vector(pair_refs, {pairs, 4}), coding,
                        static_cast<double>(image_w), static_cast<double>(image_h))
          .to_vector();
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> boxes, sc;
    std::vector<int64_t> cls;
    for (int64_t j = 0; j < r_count; ++j) {
      if (image[static_cast<size_t>(j)] != i) continue;
      for (int64_t c = 1; c < k; ++c) {
        const float score = p[static_cast<size_t>(j * k + c)];
        const float* b = decoded.data() + (j * (k - 1) + c - 1) * 4;
        if (!(score > lim.score_thresh) || b[2] - b[0] < 1e-2f || b[3] - b[1] < 1e-2f) continue;
        boxes.insert(boxes.end(), b, b + 4);
        sc.push_back(score);
        cls.push_back(c);
      }
    }
    const auto m = static_cast<int64_t>(sc.size());
    if (m == 0) continue;
    const std::vector<int64_t> keep =
        ops::batched_nms(ops::Tensor::from_vector(boxes, {m, 4}), ops::Tensor::from_vector(sc, {m}),
                         i64_tensor(cls, ops::Device::cpu()),
                         ops::NmsOptions{.iou_threshold = lim.nms_thresh, .max_output = d});
    for (size_t q = 0; q < keep.size(); ++q) {
      float* row = o + (i * d + static_cast<int64_t>(q)) * 6;
      std::copy_n(boxes.begin() + keep[q] * 4, 4, row);
      row[4] = sc[static_cast<size_t>(keep[q])];
      row[5] = static_cast<float>(cls[static_cast<size_t>(keep[q])]);
    }
  }
  return out;
}

void read_detection_limits(SpecReader& r, DetectionLimits& d) {
  r.number("box_score_thresh", d.score_thresh, 0.0, 1.0);
  r.number("box_nms_thresh", d.nms_thresh, 0.0, 1.0);
  r.integer("box_detections_per_img", d.per_image, 1, 100000);
}

}  // namespace ringmaster::models

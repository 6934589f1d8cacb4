// ONNX node conformance: runs the libonnx-testdata cases (one ONNX node, its
// inputs and expected outputs) through our ops on the CPU and compares values.
// Every case whose graph uses an op we have is listed below, either to run or
// in kSkipped with the reason (a table test checks that none is missing).
// Forward values only: no gradients, no CUDA, no multi-node graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/onnx_reader.h"
#include "ops/add.h"
#include "ops/batch_norm2d.h"
#include "ops/cast.h"
#include "ops/concat.h"
#include "ops/conv2d.h"
#include "ops/conv_transpose2d.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/half.h"
#include "ops/linear.h"
#include "ops/lrn.h"
#include "ops/nms.h"
#include "ops/pool2d.h"
#include "ops/relu.h"
#include "ops/reshape.h"
#include "ops/resize.h"
#include "ops/roi_align.h"
#include "ops/sequence_cross_entropy.h"
#include "ops/slice.h"
#include "ops/softmax.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {

namespace {

namespace fs = std::filesystem;
using onnx::Node;
using onnx::OnnxTensor;

// ---------------------------------------------------------------------------
// The cases. Paths are relative to the data root (libonnx-testdata's data/).

constexpr const char* kRun[] = {
    // Relu
    "node/test_relu",
    "pytorch-converted/test_ReLU",
    // Conv (2-d; pads, strides, auto_pad, group, dilations, optional bias)
    "node/test_basic_conv_with_padding",
    "node/test_basic_conv_without_padding",
    "node/test_conv_with_autopad_same",
    "node/test_conv_with_strides_and_asymmetric_padding",
    "node/test_conv_with_strides_no_padding",
    "node/test_conv_with_strides_padding",
    "pytorch-converted/test_Conv2d",
    "pytorch-converted/test_Conv2d_depthwise",
    "pytorch-converted/test_Conv2d_depthwise_padded",
    "pytorch-converted/test_Conv2d_depthwise_strided",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
    "pytorch-converted/test_Conv2d_dilated",
    "pytorch-converted/test_Conv2d_groups",
    "pytorch-converted/test_Conv2d_groups_thnn",
    "pytorch-converted/test_Conv2d_no_bias",
    "pytorch-converted/test_Conv2d_padding",
    "pytorch-converted/test_Conv2d_strided",
    "pytorch-operator/test_operator_conv",
    // MaxPool (2-d)
    "node/test_maxpool_2d_ceil",
    "node/test_maxpool_2d_default",
    "node/test_maxpool_2d_dilations",
    "node/test_maxpool_2d_pads",
    "node/test_maxpool_2d_precomputed_pads",
    "node/test_maxpool_2d_precomputed_same_upper",
    "node/test_maxpool_2d_precomputed_strides",
    "node/test_maxpool_2d_same_lower",
    "node/test_maxpool_2d_same_upper",
    "node/test_maxpool_2d_strides",
    "pytorch-converted/test_MaxPool2d",
    "pytorch-converted/test_MaxPool2d_stride_padding_dilation",
    // AveragePool (2-d)
    "node/test_averagepool_2d_ceil",
    "node/test_averagepool_2d_default",
    "node/test_averagepool_2d_pads",
    "node/test_averagepool_2d_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_pads",
    "node/test_averagepool_2d_precomputed_pads_count_include_pad",
    "node/test_averagepool_2d_precomputed_same_upper",
    "node/test_averagepool_2d_precomputed_strides",
    "node/test_averagepool_2d_same_lower",
    "node/test_averagepool_2d_same_upper",
    "node/test_averagepool_2d_strides",
    "pytorch-converted/test_AvgPool2d",
    "pytorch-converted/test_AvgPool2d_stride",
    // GlobalAveragePool
    "node/test_globalaveragepool",
    "node/test_globalaveragepool_precomputed",
    // BatchNormalization (inference, and training mode with running stats)
    "node/test_batchnorm_epsilon",
    "node/test_batchnorm_epsilon_training_mode",
    "node/test_batchnorm_example",
    "node/test_batchnorm_example_training_mode",
    "pytorch-converted/test_BatchNorm2d_eval",
    "pytorch-converted/test_BatchNorm2d_momentum_eval",
    // Gemm (alpha = beta = 1; transA/transB by transposing the input here)
    "node/test_gemm_default_matrix_bias",
    "node/test_gemm_default_no_bias",
    "node/test_gemm_default_scalar_bias",
    "node/test_gemm_default_single_elem_vector_bias",
    "node/test_gemm_default_vector_bias",
    "node/test_gemm_default_zero_bias",
    "node/test_gemm_transposeA",
    "node/test_gemm_transposeB",
    "pytorch-converted/test_Linear",
    // Softmax
    "node/test_softmax_axis_0",
    "node/test_softmax_axis_1",
    "node/test_softmax_axis_2",
    "node/test_softmax_default_axis",
    "node/test_softmax_example",
    "node/test_softmax_large_number",
    "node/test_softmax_negative_axis",
    "pytorch-converted/test_Softmax",
    "pytorch-converted/test_softmax_functional_dim3",
    "pytorch-converted/test_softmax_lastdim",
    // Concat
    "node/test_concat_1d_axis_0",
    "node/test_concat_1d_axis_negative_1",
    "node/test_concat_2d_axis_0",
    "node/test_concat_2d_axis_1",
    "node/test_concat_2d_axis_negative_1",
    "node/test_concat_2d_axis_negative_2",
    "node/test_concat_3d_axis_0",
    "node/test_concat_3d_axis_1",
    "node/test_concat_3d_axis_2",
    "node/test_concat_3d_axis_negative_1",
    "node/test_concat_3d_axis_negative_2",
    "node/test_concat_3d_axis_negative_3",
    "pytorch-operator/test_operator_concat2",
    // Add
    "node/test_add",
    // Flatten
    "node/test_flatten_axis0",
    "node/test_flatten_axis1",
    "node/test_flatten_axis2",
    "node/test_flatten_axis3",
    "node/test_flatten_default_axis",
    "node/test_flatten_negative_axis1",
    "node/test_flatten_negative_axis2",
    "node/test_flatten_negative_axis3",
    "node/test_flatten_negative_axis4",
    "pytorch-operator/test_operator_flatten",
    "pytorch-operator/test_operator_view",
    // Reshape
    "node/test_reshape_allowzero_reordered",
    "node/test_reshape_extended_dims",
    "node/test_reshape_negative_dim",
    "node/test_reshape_negative_extended_dims",
    "node/test_reshape_one_dim",
    "node/test_reshape_reduced_dims",
    "node/test_reshape_reordered_all_dims",
    "node/test_reshape_reordered_last_dims",
    "node/test_reshape_zero_and_negative_dim",
    "node/test_reshape_zero_dim",
    // Dropout (inference, and training with ratio 0: both the identity)
    "node/test_dropout_default",
    "node/test_dropout_default_mask",
    "node/test_dropout_default_mask_ratio",
    "node/test_dropout_default_old",
    "node/test_dropout_default_ratio",
    "node/test_dropout_random_old",
    "node/test_training_dropout_zero_ratio",
    "node/test_training_dropout_zero_ratio_mask",
    // Cast FLOAT <-> FLOAT16 (the two CastLike bodies are a single Cast node)
    "node/test_cast_FLOAT16_to_FLOAT",
    "node/test_cast_FLOAT_to_FLOAT16",
    "node/test_castlike_FLOAT16_to_FLOAT_expanded",
    "node/test_castlike_FLOAT_to_FLOAT16_expanded",
    // SoftmaxCrossEntropyLoss: (N, C), no weights, no ignore_index; mean (sum = N * mean)
    "node/test_sce_mean",
    "node/test_sce_mean_log_prob",
    "node/test_sce_sum",
    "node/test_sce_sum_log_prob",
    "node/test_sce_mean_3d",
    "node/test_sce_mean_3d_log_prob",
    // ... with ignore_index: sequence_cross_entropy
    "node/test_sce_mean_no_weight_ii",
    "node/test_sce_mean_no_weight_ii_log_prob",
    // ConvTranspose (2-d; pads, output_padding, output_shape, auto_pad, dilations, group)
    "node/test_convtranspose",
    "node/test_convtranspose_autopad_same",
    "node/test_convtranspose_dilations",
    "node/test_convtranspose_kernel_shape",
    "node/test_convtranspose_output_shape",
    "node/test_convtranspose_pad",
    "node/test_convtranspose_pads",
    "node/test_convtranspose_with_kernel",
    "pytorch-converted/test_ConvTranspose2d",
    "pytorch-converted/test_ConvTranspose2d_no_bias",
    "pytorch-operator/test_operator_convtranspose",
    // Resize (mode linear on H and W: half_pixel, align_corners, pytorch_half_pixel)
    "node/test_resize_downsample_scales_linear",
    "node/test_resize_downsample_scales_linear_align_corners",
    "node/test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "node/test_resize_upsample_scales_linear",
    "node/test_resize_upsample_scales_linear_align_corners",
    // LRN
    "node/test_lrn",
    "node/test_lrn_default",
    // Slice (steps 1; negative and out-of-range bounds resolved as ONNX says)
    "node/test_slice",
    "node/test_slice_default_axes",
    "node/test_slice_default_steps",
    "node/test_slice_end_out_of_bounds",
    "node/test_slice_neg",
    "node/test_slice_negative_axes",
    "node/test_slice_start_out_of_bounds",
    // Gather on axis 0: the embedding lookup
    "node/test_gather_0",
    // NonMaxSuppression (corners in any order, or centre and size)
    "node/test_nonmaxsuppression_center_point_box_format",
    "node/test_nonmaxsuppression_flipped_coordinates",
    "node/test_nonmaxsuppression_identical_boxes",
    "node/test_nonmaxsuppression_limit_output_size",
    "node/test_nonmaxsuppression_single_box",
    "node/test_nonmaxsuppression_suppress_by_IOU",
    "node/test_nonmaxsuppression_suppress_by_IOU_and_scores",
    "node/test_nonmaxsuppression_two_batches",
    "node/test_nonmaxsuppression_two_classes",
    // RoiAlign (avg mode; half_pixel is aligned, output_half_pixel not)
    "node/test_roialign_aligned_false",
    "node/test_roialign_aligned_true",
    "pytorch-converted/test_Embedding",
    "pytorch-converted/test_Embedding_sparse",
};

struct Skipped {
  const char* dir;
  const char* reason;
};

// Reasons shared by several cases.
constexpr const char* kGatherAxis = "Gather on axis 1: embedding looks up rows (axis 0)";
constexpr const char* kPool1d = "1-d pooling: max_pool2d/avg_pool2d take (N, C, H, W) only";
constexpr const char* kPool3d = "3-d pooling: max_pool2d/avg_pool2d take (N, C, H, W) only";
constexpr const char* kConv1d = "1-d convolution: conv2d takes (N, C, H, W) only";
constexpr const char* kConv3d = "3-d convolution: conv2d takes (N, C, H, W) only";
constexpr const char* kArgmax =
    "MaxPool's second output Indices (flat argmax): max_pool2d returns no indices";
constexpr const char* kBf16 = "bfloat16: we have no bf16 dtype";
constexpr const char* kDouble = "double: we have no f64 dtype (the reader narrows DOUBLE to f32)";
constexpr const char* kString = "string tensors: we have no string dtype";
constexpr const char* kCastLike =
    "CastLike: we have no op taking the target dtype from a second tensor (its body, a "
    "plain Cast, runs as *_expanded where the dtypes are ours)";
constexpr const char* kGemmScale = "Gemm alpha/beta != 1: linear computes x w^T + b unscaled";
constexpr const char* kTrainDropout =
    "training Dropout with ratio > 0: ONNX's mask comes from numpy's RNG, ours from a "
    "counter hash of the seed; only the distribution could be compared (dropout_test does)";
constexpr const char* kSceExpanded =
    "SoftmaxCrossEntropyLoss function body (Reshape/Transpose/LogSoftmax/"
    "NegativeLogLikelihoodLoss...): ops we do not have; the fused op runs in the base case";
constexpr const char* kSoftmaxExpanded =
    "Softmax function body (ReduceMax/Sub/Exp/ReduceSum/Div): ops we do not have; the "
    "fused op runs in the base case";
// softmax_cross_entropy takes (N, C) logits and labels (N), no class weights,
// and reduces by the mean (sum runs as N * mean); sequence_cross_entropy adds
// ignore_index for (N, C) logits and the mean.
#define RM_SCE "SoftmaxCrossEntropyLoss with "
constexpr const char* kSceW = RM_SCE "class weights";
constexpr const char* kSceWIi = RM_SCE "class weights and ignore_index";
constexpr const char* kSceWIiNd = RM_SCE "class weights, ignore_index and (N, C, d1, ...) logits";
constexpr const char* kSceWNd = RM_SCE "class weights and (N, C, d1, ...) logits";
constexpr const char* kSceIiNd = RM_SCE "ignore_index and (N, C, d1, ...) logits";
constexpr const char* kSceNone = RM_SCE "reduction=none (a loss per sample)";
constexpr const char* kSceNoneW = RM_SCE "reduction=none and class weights";
constexpr const char* kSceNoneIiNd =
    RM_SCE "reduction=none, ignore_index and (N, C, d1, ...) logits";
constexpr const char* kSceNoneNd = RM_SCE "reduction=none and (N, C, d1, ...) logits";
#undef RM_SCE
constexpr const char* kMultiNode = "multi-node graph: this suite runs single-node models only";
constexpr const char* kConvT1d =
    "1-d transposed convolution: conv_transpose2d takes (N, C, H, W) only";
constexpr const char* kConvT3d =
    "3-d transposed convolution: conv_transpose2d takes (N, C, H, W) only";
constexpr const char* kResizeNearest = "Resize mode nearest: resize_bilinear is linear only";
constexpr const char* kResizeCubic = "Resize mode cubic: resize_bilinear is linear only";
constexpr const char* kBatchNormRank =
    "BatchNormalization on a non-4-d input: batch_norm2d takes (N, C, H, W) only";

constexpr Skipped kSkipped[] = {
    // Add
    {"node/test_add_bcast", "broadcasting Add: add takes equal shapes only"},
    {"node/test_add_uint8", "uint8 Add: add is f32 only"},
    {"pytorch-operator/test_operator_add_broadcast", "broadcasting Add of doubles"},
    {"pytorch-operator/test_operator_add_size1_broadcast", "broadcasting Add of doubles"},
    {"pytorch-operator/test_operator_add_size1_right_broadcast", "broadcasting Add of doubles"},
    {"pytorch-operator/test_operator_add_size1_singleton_broadcast", "broadcasting Add of doubles"},
    // Pooling
    {"node/test_averagepool_1d_default", kPool1d},
    {"node/test_averagepool_3d_default", kPool3d},
    {"node/test_maxpool_1d_default", kPool1d},
    {"node/test_maxpool_3d_default", kPool3d},
    {"node/test_maxpool_2d_uint8", "uint8 MaxPool: max_pool2d is f32 only"},
    {"node/test_maxpool_with_argmax_2d_precomputed_pads", kArgmax},
    {"node/test_maxpool_with_argmax_2d_precomputed_strides", kArgmax},
    {"pytorch-converted/test_AvgPool1d", kPool1d},
    {"pytorch-converted/test_AvgPool1d_stride", kPool1d},
    {"pytorch-converted/test_AvgPool3d", kPool3d},
    {"pytorch-converted/test_AvgPool3d_stride", kPool3d},
    {"pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input", kPool3d},
    {"pytorch-converted/test_MaxPool1d", kPool1d},
    {"pytorch-converted/test_MaxPool1d_stride", kPool1d},
    {"pytorch-converted/test_MaxPool1d_stride_padding_dilation", kPool1d},
    {"pytorch-converted/test_MaxPool3d", kPool3d},
    {"pytorch-converted/test_MaxPool3d_stride", kPool3d},
    {"pytorch-converted/test_MaxPool3d_stride_padding", kPool3d},
    {"pytorch-operator/test_operator_maxpool", kPool1d},
    // Conv
    {"pytorch-converted/test_Conv1d", kConv1d},
    {"pytorch-converted/test_Conv1d_dilated", kConv1d},
    {"pytorch-converted/test_Conv1d_groups", kConv1d},
    {"pytorch-converted/test_Conv1d_pad1", kConv1d},
    {"pytorch-converted/test_Conv1d_pad1size1", kConv1d},
    {"pytorch-converted/test_Conv1d_pad2", kConv1d},
    {"pytorch-converted/test_Conv1d_pad2size1", kConv1d},
    {"pytorch-converted/test_Conv1d_stride", kConv1d},
    {"pytorch-converted/test_Conv3d", kConv3d},
    {"pytorch-converted/test_Conv3d_dilated", kConv3d},
    {"pytorch-converted/test_Conv3d_dilated_strided", kConv3d},
    {"pytorch-converted/test_Conv3d_groups", kConv3d},
    {"pytorch-converted/test_Conv3d_no_bias", kConv3d},
    {"pytorch-converted/test_Conv3d_stride", kConv3d},
    {"pytorch-converted/test_Conv3d_stride_padding", kConv3d},
    // BatchNormalization
    {"pytorch-converted/test_BatchNorm1d_3d_input_eval", kBatchNormRank},
    {"pytorch-converted/test_BatchNorm3d_eval", kBatchNormRank},
    {"pytorch-converted/test_BatchNorm3d_momentum_eval", kBatchNormRank},
    // Cast / CastLike
    {"node/test_cast_BFLOAT16_to_FLOAT", kBf16},
    {"node/test_cast_FLOAT_to_BFLOAT16", kBf16},
    {"node/test_cast_DOUBLE_to_FLOAT", kDouble},
    {"node/test_cast_DOUBLE_to_FLOAT16", kDouble},
    {"node/test_cast_FLOAT16_to_DOUBLE", kDouble},
    {"node/test_cast_FLOAT_to_DOUBLE", kDouble},
    {"node/test_cast_FLOAT_to_STRING", kString},
    {"node/test_cast_STRING_to_FLOAT", kString},
    {"node/test_castlike_BFLOAT16_to_FLOAT", kCastLike},
    {"node/test_castlike_DOUBLE_to_FLOAT", kCastLike},
    {"node/test_castlike_DOUBLE_to_FLOAT16", kCastLike},
    {"node/test_castlike_FLOAT16_to_DOUBLE", kCastLike},
    {"node/test_castlike_FLOAT16_to_FLOAT", kCastLike},
    {"node/test_castlike_FLOAT_to_BFLOAT16", kCastLike},
    {"node/test_castlike_FLOAT_to_DOUBLE", kCastLike},
    {"node/test_castlike_FLOAT_to_FLOAT16", kCastLike},
    {"node/test_castlike_FLOAT_to_STRING", kCastLike},
    {"node/test_castlike_STRING_to_FLOAT", kCastLike},
    {"node/test_castlike_BFLOAT16_to_FLOAT_expanded", kBf16},
    {"node/test_castlike_FLOAT_to_BFLOAT16_expanded", kBf16},
    {"node/test_castlike_DOUBLE_to_FLOAT_expanded", kDouble},
    {"node/test_castlike_DOUBLE_to_FLOAT16_expanded", kDouble},
    {"node/test_castlike_FLOAT16_to_DOUBLE_expanded", kDouble},
    {"node/test_castlike_FLOAT_to_DOUBLE_expanded", kDouble},
    {"node/test_castlike_FLOAT_to_STRING_expanded", kString},
    {"node/test_castlike_STRING_to_FLOAT_expanded", kString},
    // Gemm
    {"node/test_gemm_alpha", kGemmScale},
    {"node/test_gemm_beta", kGemmScale},
    {"node/test_gemm_all_attributes", kGemmScale},
    // Dropout
    {"node/test_training_dropout", kTrainDropout},
    {"node/test_training_dropout_default", kTrainDropout},
    {"node/test_training_dropout_default_mask", kTrainDropout},
    {"node/test_training_dropout_mask", kTrainDropout},
    // Softmax function bodies
    {"node/test_softmax_axis_0_expanded", kSoftmaxExpanded},
    {"node/test_softmax_axis_1_expanded", kSoftmaxExpanded},
    {"node/test_softmax_axis_2_expanded", kSoftmaxExpanded},
    {"node/test_softmax_default_axis_expanded", kSoftmaxExpanded},
    {"node/test_softmax_example_expanded", kSoftmaxExpanded},
    {"node/test_softmax_large_number_expanded", kSoftmaxExpanded},
    {"node/test_softmax_negative_axis_expanded", kSoftmaxExpanded},
    // SoftmaxCrossEntropyLoss
    {"node/test_sce_mean_weight", kSceW},
    {"node/test_sce_mean_weight_log_prob", kSceW},
    {"node/test_sce_mean_weight_ii", kSceWIi},
    {"node/test_sce_mean_weight_ii_log_prob", kSceWIi},
    {"node/test_sce_mean_weight_ii_3d", kSceWIiNd},
    {"node/test_sce_mean_weight_ii_3d_log_prob", kSceWIiNd},
    {"node/test_sce_mean_weight_ii_4d", kSceWIiNd},
    {"node/test_sce_mean_weight_ii_4d_log_prob", kSceWIiNd},
    {"node/test_sce_mean_no_weight_ii_3d", kSceIiNd},
    {"node/test_sce_mean_no_weight_ii_3d_log_prob", kSceIiNd},
    {"node/test_sce_mean_no_weight_ii_4d", kSceIiNd},
    {"node/test_sce_mean_no_weight_ii_4d_log_prob", kSceIiNd},
    {"node/test_sce_none", kSceNone},
    {"node/test_sce_none_log_prob", kSceNone},
    {"node/test_sce_none_weights", kSceNoneW},
    {"node/test_sce_none_weights_log_prob", kSceNoneW},
    {"node/test_sce_NCd1_mean_weight_negative_ii", kSceWIiNd},
    {"node/test_sce_NCd1_mean_weight_negative_ii_log_prob", kSceWIiNd},
    {"node/test_sce_NCd1d2d3_none_no_weight_negative_ii", kSceNoneIiNd},
    {"node/test_sce_NCd1d2d3_none_no_weight_negative_ii_log_prob", kSceNoneIiNd},
    {"node/test_sce_NCd1d2d3_sum_weight_high_ii", kSceWIi},
    {"node/test_sce_NCd1d2d3_sum_weight_high_ii_log_prob", kSceWIi},
    {"node/test_sce_NCd1d2d3d4d5_mean_weight", kSceWNd},
    {"node/test_sce_NCd1d2d3d4d5_mean_weight_log_prob", kSceWNd},
    {"node/test_sce_NCd1d2d3d4d5_none_no_weight", kSceNoneNd},
    {"node/test_sce_NCd1d2d3d4d5_none_no_weight_log_prob", kSceNoneNd},
    {"node/test_sce_NCd1_mean_weight_negative_ii_expanded", kSceExpanded},
    {"node/test_sce_NCd1_mean_weight_negative_ii_log_prob_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3_none_no_weight_negative_ii_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3_none_no_weight_negative_ii_log_prob_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3_sum_weight_high_ii_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3_sum_weight_high_ii_log_prob_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3d4d5_mean_weight_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3d4d5_mean_weight_log_prob_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3d4d5_none_no_weight_expanded", kSceExpanded},
    {"node/test_sce_NCd1d2d3d4d5_none_no_weight_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_3d_expanded", kSceExpanded},
    {"node/test_sce_mean_3d_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_expanded", kSceExpanded},
    {"node/test_sce_mean_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_3d_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_3d_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_4d_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_4d_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_expanded", kSceExpanded},
    {"node/test_sce_mean_no_weight_ii_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_3d_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_3d_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_4d_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_4d_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_ii_log_prob_expanded", kSceExpanded},
    {"node/test_sce_mean_weight_log_prob_expanded", kSceExpanded},
    {"node/test_sce_none_expanded", kSceExpanded},
    {"node/test_sce_none_log_prob_expanded", kSceExpanded},
    {"node/test_sce_none_weights_expanded", kSceExpanded},
    {"node/test_sce_none_weights_log_prob_expanded", kSceExpanded},
    {"node/test_sce_sum_expanded", kSceExpanded},
    {"node/test_sce_sum_log_prob_expanded", kSceExpanded},
    // ConvTranspose
    {"node/test_convtranspose_1d", kConvT1d},
    {"node/test_convtranspose_3d", kConvT3d},
    // Resize
    {"node/test_resize_downsample_scales_cubic", kResizeCubic},
    {"node/test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", kResizeCubic},
    {"node/test_resize_downsample_scales_cubic_align_corners", kResizeCubic},
    {"node/test_resize_downsample_sizes_cubic", kResizeCubic},
    {"node/test_resize_upsample_scales_cubic", kResizeCubic},
    {"node/test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", kResizeCubic},
    {"node/test_resize_upsample_scales_cubic_align_corners", kResizeCubic},
    {"node/test_resize_upsample_scales_cubic_asymmetric", kResizeCubic},
    {"node/test_resize_upsample_sizes_cubic", kResizeCubic},
    {"node/test_resize_downsample_scales_nearest", kResizeNearest},
    {"node/test_resize_downsample_sizes_nearest", kResizeNearest},
    {"node/test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn", kResizeNearest},
    {"node/test_resize_upsample_scales_nearest", kResizeNearest},
    {"node/test_resize_upsample_sizes_nearest", kResizeNearest},
    {"node/test_resize_upsample_sizes_nearest_ceil_half_pixel", kResizeNearest},
    {"node/test_resize_upsample_sizes_nearest_floor_align_corners", kResizeNearest},
    {"node/test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric", kResizeNearest},
    {"node/test_resize_tf_crop_and_resize",
     "Resize coordinate_transformation_mode tf_crop_and_resize (a region of interest): "
     "resize_bilinear resizes the whole image"},
    // Slice
    {"node/test_slice_neg_steps", "Slice with steps != 1: slice takes step 1 only"},
    // Gather
    {"node/test_gather_1", kGatherAxis},
    {"node/test_gather_2d_indices", kGatherAxis},
    {"node/test_gather_negative_indices",
     "Gather with negative indices (counting from the end): embedding refuses an index outside "
     "[0, rows), as a lookup table should"},
    // Multi-node graphs that use one of our ops among others.
    {"pytorch-converted/test_PixelShuffle", kMultiNode},
    {"pytorch-converted/test_Softmin", kMultiNode},
    {"pytorch-converted/test_Softsign", kMultiNode},
    {"pytorch-operator/test_operator_addconstant", kMultiNode},
    {"pytorch-operator/test_operator_addmm", kMultiNode},
    {"pytorch-operator/test_operator_basic", kMultiNode},
    {"pytorch-operator/test_operator_mm", kMultiNode},
    {"pytorch-operator/test_operator_non_float_params", kMultiNode},
    {"pytorch-operator/test_operator_params", kMultiNode},
    {"pytorch-operator/test_operator_repeat_dim_overflow", kMultiNode},
    {"pytorch-operator/test_operator_index", kMultiNode},
};

// The folders scanned by the table check, and the ONNX ops we map.
constexpr const char* kFolders[] = {"node", "pytorch-converted", "pytorch-operator"};
const std::set<std::string>& our_op_types() {
  static const std::set<std::string> s = {"Relu",
                                          "Conv",
                                          "MaxPool",
                                          "AveragePool",
                                          "GlobalAveragePool",
                                          "BatchNormalization",
                                          "Gemm",
                                          "Softmax",
                                          "Concat",
                                          "Add",
                                          "Flatten",
                                          "Reshape",
                                          "Dropout",
                                          "Cast",
                                          "CastLike",
                                          "SoftmaxCrossEntropyLoss",
                                          "ConvTranspose",
                                          "Resize",
                                          "LRN",
                                          "Slice",
                                          "Gather",
                                          "RoiAlign",
                                          "NonMaxSuppression"};
  return s;
}

std::string data_root() {
  if (const char* env = std::getenv("RM_ONNX_TESTDATA")) return env;
  return "/usr/share/libonnx-testdata/data";
}

std::string missing_data_message() {
  return "ONNX test data not found at " + data_root() +
         " (Debian package libonnx-testdata); run scripts/install-deps.sh, or point "
         "RM_ONNX_TESTDATA at its data/ folder";
}

// ---------------------------------------------------------------------------
// One case in flight: the node, its inputs by position, the expected outputs.

struct Case {
  const onnx::Model* model = nullptr;
  const Node* node = nullptr;
  std::vector<OnnxTensor> in;    // per node input; tensor undefined when omitted
  std::vector<OnnxTensor> want;  // per node output; a runner may adjust one (and say so)
  std::vector<std::string> notes;
  bool exact = false;  // compare bit for bit (casts)

  bool has(size_t i) const { return i < in.size() && in[i].tensor.defined(); }
  const Tensor& input(size_t i) const {
    if (!has(i)) throw Error("node input " + std::to_string(i) + " is missing");
    return in[i].tensor;
  }
  int64_t opset() const { return model->opset; }
};

// Runs the node through our ops: one tensor per node output; an undefined
// tensor marks an output not checked (the runner adds a note saying why).
using Runner = std::function<std::vector<Tensor>(Case&)>;

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("case not expressible: " + what);
}

int64_t normalize_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// A plain f32 copy of a 2-d tensor, transposed.
Tensor transpose2d(const Tensor& a) {
  const Tensor p = a.to_plain();
  const int64_t r = p.dim(0), c = p.dim(1);
  Tensor t = Tensor::empty({c, r});
  const float* s = p.data<float>();
  float* d = t.data<float>();
  for (int64_t i = 0; i < r; ++i) {
    for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
  }
  return t;
}

// Spatial padding (top, left) / (bottom, right) from pads or auto_pad, for a
// kernel of effective extent (k - 1) * dilation + 1.
struct Pads2d {
  std::array<int64_t, 2> begin{0, 0};
  std::array<int64_t, 2> end{0, 0};
};

Pads2d resolve_pads(const Node& n, const Shape& x, const std::array<int64_t, 2>& kernel,
                    const std::array<int64_t, 2>& stride, const std::array<int64_t, 2>& dilation) {
  Pads2d p;
  const std::string mode = n.get_string("auto_pad", "NOTSET");
  if (mode == "NOTSET") {
    const std::vector<int64_t> pads = n.get_ints("pads", {0, 0, 0, 0});
    require(pads.size() == 4, "pads of a 2-d node must have 4 values");
    p.begin = {pads[0], pads[1]};  // ONNX: x1_begin, x2_begin, x1_end, x2_end
    p.end = {pads[2], pads[3]};
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      const int64_t in = x[static_cast<size_t>(2 + i)];
      const int64_t out = (in + stride[i] - 1) / stride[i];
      const int64_t extent = (kernel[i] - 1) * dilation[i] + 1;
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride[i] + extent - in);
      const int64_t small = total / 2, big = total - small;
      p.begin[i] = mode == "SAME_UPPER" ? small : big;  // SAME_UPPER puts the extra at the end
      p.end[i] = mode == "SAME_UPPER" ? big : small;
    }
  } else {
    require(mode == "VALID", "unknown auto_pad " + mode);
  }
  return p;
}

std::array<int64_t, 2> pair_attr(const Node& n, const std::string& name,
                                 std::array<int64_t, 2> fallback) {
  const onnx::Attribute* a = n.find(name);
  if (!a) return fallback;
  require(a->ints.size() == 2, name + " must have 2 values for a 2-d node");
  return {a->ints[0], a->ints[1]};
}

// --- Relu -----------------------------------------------------------------
std::vector<Tensor> run_relu(Case& c) { return {relu(c.input(0))}; }

// --- Conv -----------------------------------------------------------------
std::vector<Tensor> run_conv(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  require(x.ndim() == 4 && w.ndim() == 4, "Conv on a non-4-d input");
  Conv2dParams p;
  const std::array<int64_t, 2> kernel = pair_attr(n, "kernel_shape", {w.dim(2), w.dim(3)});
  require(kernel[0] == w.dim(2) && kernel[1] == w.dim(3), "kernel_shape disagrees with W");
  p.stride = pair_attr(n, "strides", {1, 1});
  p.dilation = pair_attr(n, "dilations", {1, 1});
  p.groups = n.get_int("group", 1);
  const Pads2d pads = resolve_pads(n, x.shape(), kernel, p.stride, p.dilation);
  p.padding_begin = pads.begin;
  p.padding_end = pads.end;
  const Tensor b = c.has(2) ? c.input(2) : Tensor();
  return {conv2d(x, w, b, p).to_plain()};
}

// --- MaxPool / AveragePool / GlobalAveragePool ----------------------------
Pool2dParams pool_params(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  require(x.ndim() == 4, "pooling on a non-4-d input");
  Pool2dParams p;
  const onnx::Attribute* k = n.find("kernel_shape");
  require(k && k->ints.size() == 2, "kernel_shape must have 2 values");
  p.kernel = {k->ints[0], k->ints[1]};
  p.stride = pair_attr(n, "strides", {1, 1});  // ONNX's default stride is 1
  p.dilation = pair_attr(n, "dilations", {1, 1});
  p.ceil_mode = n.get_int("ceil_mode", 0) != 0;
  p.count_include_pad = n.get_int("count_include_pad", 0) != 0;
  const Pads2d pads = resolve_pads(n, x.shape(), p.kernel, p.stride, p.dilation);
  p.padding_begin = pads.begin;
  p.padding_end = pads.end;
  return p;
}

std::vector<Tensor> run_max_pool(Case& c) {
  require(c.node->outputs.size() == 1, "MaxPool Indices output");
  return {max_pool2d(c.input(0), pool_params(c)).to_plain()};
}

std::vector<Tensor> run_avg_pool(Case& c) {
  require(c.node->find("dilations") == nullptr, "AveragePool with dilations");
  return {avg_pool2d(c.input(0), pool_params(c)).to_plain()};
}

std::vector<Tensor> run_global_avg_pool(Case& c) {
  require(c.input(0).ndim() == 4, "GlobalAveragePool on a non-4-d input");
  return {global_avg_pool2d(c.input(0)).to_plain()};
}

// --- BatchNormalization ---------------------------------------------------
// Per-channel biased variance of x (N, C, H, W), in double.
std::vector<double> batch_variance(const Tensor& x) {
  const Tensor p = x.to_plain();
  const int64_t n = p.dim(0), ch = p.dim(1), hw = p.dim(2) * p.dim(3);
  const float* d = p.data<float>();
  std::vector<double> var(static_cast<size_t>(ch));
  for (int64_t k = 0; k < ch; ++k) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < hw; ++j) {
        const double v = d[(i * ch + k) * hw + j];
        s += v;
        s2 += v * v;
      }
    }
    const double m = s / static_cast<double>(n * hw);
    var[static_cast<size_t>(k)] = s2 / static_cast<double>(n * hw) - m * m;
  }
  return var;
}

std::vector<Tensor> run_batch_norm(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  require(x.ndim() == 4, "BatchNormalization on a non-4-d input");
  require(n.get_int("spatial", 1) == 1, "BatchNormalization spatial=0");
  const bool training =
      c.opset() >= 14 ? n.get_int("training_mode", 0) != 0
                      : (c.opset() < 7 ? n.get_int("is_test", 0) == 0 : c.node->outputs.size() > 1);
  BatchNormParams p;
  p.training = training;
  p.eps = n.get_float("epsilon", 1e-5f);
  // ONNX: running = momentum * running + (1 - momentum) * batch; ours (PyTorch's)
  // weighs the batch by our momentum.
  const float onnx_momentum = n.get_float("momentum", 0.9f);
  p.momentum = 1.0f - onnx_momentum;
  Tensor running_mean = c.input(3).clone();
  Tensor running_var = c.input(4).clone();
  Tensor y = batch_norm2d(x, c.input(1), c.input(2), running_mean, running_var, p).to_plain();
  if (!training) return {y};
  require(c.want.size() == 3, "training BatchNormalization with other than 3 outputs");
  // ONNX updates the running variance with the biased batch variance; we (as
  // PyTorch) use the unbiased one: expect onnx + (1 - momentum) * var / (count - 1).
  const std::vector<double> var = batch_variance(x);
  const double count = static_cast<double>(x.dim(0) * x.dim(2) * x.dim(3));
  Tensor want_var = c.want[2].tensor.clone();
  float* wv = want_var.data<float>();
  double max_shift = 0;
  for (size_t k = 0; k < var.size(); ++k) {
    const double shift = (1.0 - onnx_momentum) * var[k] / (count - 1.0);
    max_shift = std::max(max_shift, shift / std::fabs(static_cast<double>(wv[k])));
    wv[k] = static_cast<float>(wv[k] + shift);
  }
  c.want[2].tensor = want_var;
  c.notes.push_back(
      "running_var: expected value shifted by (1 - momentum) * batch_var / (count - 1), up to " +
      std::to_string(max_shift) +
      " relative, since ONNX updates it with the biased batch variance and we (as PyTorch) "
      "with the unbiased one");
  return {y, running_mean.to_plain(), running_var.to_plain()};
}

// --- Gemm -----------------------------------------------------------------
std::vector<Tensor> run_gemm(Case& c) {
  const Node& n = *c.node;
  require(n.get_float("alpha", 1.0f) == 1.0f && n.get_float("beta", 1.0f) == 1.0f,
          "Gemm alpha/beta != 1");
  Tensor a = c.input(0);
  Tensor b = c.input(1);
  require(a.ndim() == 2 && b.ndim() == 2, "Gemm on non-2-d A or B");
  if (n.get_int("transA", 0) != 0) a = transpose2d(a);
  // linear wants w as (out, in) = B^T unless transB.
  const Tensor w = n.get_int("transB", 0) != 0 ? b : transpose2d(b);
  const int64_t m = a.dim(0), out = w.dim(0);
  if (!c.has(2)) return {linear(a, w, Tensor())};
  const Tensor& bias = c.input(2);
  if (bias.numel() == out && (bias.ndim() == 1 || (bias.ndim() == 2 && bias.dim(0) == 1))) {
    return {linear(a, w, bias.reshape({out}))};
  }
  if (bias.numel() == 1) {
    c.notes.push_back("scalar C broadcast to a bias vector");
    return {linear(a, w, Tensor::full({out}, bias.to_vector()[0]))};
  }
  require(bias.ndim() == 2 && bias.dim(0) == m && bias.dim(1) == out,
          "Gemm C of shape " + shape_str(bias.shape()));
  c.notes.push_back("matrix C: add(linear(A, B^T, no bias), C)");
  return {add(linear(a, w, Tensor()), bias)};
}

// --- Softmax --------------------------------------------------------------
std::vector<Tensor> run_softmax(Case& c) {
  const Tensor& x = c.input(0);
  if (c.opset() >= 13) return {softmax(x, static_cast<int>(c.node->get_int("axis", -1)))};
  // Before opset 13: x is coerced to 2-d at axis, softmax over the second dim.
  const int64_t axis = normalize_axis(c.node->get_int("axis", 1), x.ndim());
  int64_t rows = 1;
  for (int64_t i = 0; i < axis; ++i) rows *= x.dim(static_cast<int>(i));
  c.notes.push_back("opset < 13: softmax over x viewed as (" + std::to_string(rows) + ", -1)");
  return {softmax(x.reshape({rows, x.numel() / rows}), 1).reshape(x.shape())};
}

// --- SoftmaxCrossEntropyLoss ----------------------------------------------
std::vector<Tensor> run_sce(Case& c) {
  const Node& n = *c.node;
  const std::string reduction = n.get_string("reduction", "mean");
  require(!c.has(2), "SoftmaxCrossEntropyLoss with weights");
  require(reduction == "mean" || reduction == "sum", "reduction " + reduction);
  const Tensor& x = c.input(0);
  require(x.ndim() >= 2, "SoftmaxCrossEntropyLoss on a 1-d input");
  Tensor loss;
  if (const onnx::Attribute* ii = n.find("ignore_index")) {
    require(x.ndim() == 2 && reduction == "mean",
            "ignore_index with (N, C, d1, ...) logits or reduction sum");
    c.notes.push_back("ignore_index: sequence_cross_entropy");
    loss = sequence_cross_entropy(x, c.input(1), ii->i);
  } else {
    if (x.ndim() > 2) c.notes.push_back("(N, C, d1, ...) logits: spatial_cross_entropy");
    loss =
        x.ndim() == 2 ? softmax_cross_entropy(x, c.input(1)) : spatial_cross_entropy(x, c.input(1));
  }
  if (reduction == "sum") {
    loss = Tensor::full(loss.shape(), loss.item() * static_cast<float>(x.numel() / x.dim(1)));
    c.notes.push_back("reduction=sum checked as (pixels) * our mean");
  }
  std::vector<Tensor> out{loss};
  if (c.node->outputs.size() > 1) {
    // log_prob: log of our softmax.
    Tensor p = softmax(x, 1).to_plain().clone();
    float* d = p.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] = std::log(d[i]);
    out.push_back(p);
    c.notes.push_back("log_prob checked as log(softmax(x, 1)) of our softmax");
  }
  return out;
}

// --- Concat / Add / Flatten / Reshape -------------------------------------
std::vector<Tensor> run_concat(Case& c) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < c.in.size(); ++i) xs.push_back(c.input(i));
  const int64_t axis = normalize_axis(c.node->get_int("axis", 1), xs.at(0).ndim());
  return {concat(xs, static_cast<int>(axis))};
}

std::vector<Tensor> run_add(Case& c) {
  require(c.input(0).shape() == c.input(1).shape(), "broadcasting Add");
  return {add(c.input(0), c.input(1)).to_plain()};
}

std::vector<Tensor> run_flatten(Case& c) {
  const Tensor& x = c.input(0);
  const int64_t axis = normalize_axis(c.node->get_int("axis", 1), x.ndim());
  return {flatten(x, static_cast<int>(axis))};
}

std::vector<Tensor> run_reshape(Case& c) {
  const Tensor& x = c.input(0);
  const Tensor& s = c.input(1);
  require(s.dtype() == DType::i64 && s.ndim() == 1, "Reshape shape must be 1-d INT64");
  const bool allowzero = c.node->get_int("allowzero", 0) != 0;
  Shape shape(s.data<int64_t>(), s.data<int64_t>() + s.numel());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      require(i < x.shape().size(), "Reshape 0 past the input's rank");
      shape[i] = x.shape()[i];  // 0 copies the input's dimension
    }
  }
  return {reshape(x, shape)};
}

// --- Dropout --------------------------------------------------------------
std::vector<Tensor> run_dropout(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  float ratio = n.get_float("ratio", 0.5f);  // opset < 12: an attribute
  bool training = false;
  if (c.opset() >= 12) {
    if (c.has(1)) ratio = c.input(1).to_vector()[0];
    if (c.has(2)) {
      const Tensor& t = c.input(2);
      require(t.dtype() == DType::u8 && t.numel() == 1, "training_mode must be a BOOL scalar");
      training = t.data<uint8_t>()[0] != 0;
    }
  } else {
    require(c.opset() >= 7 || n.get_int("is_test", 0) != 0, "Dropout training (opset < 7)");
  }
  require(!training || ratio == 0.0f, "training Dropout with ratio > 0");
  Tensor y = dropout(x, ratio, training, /*seed=*/0).to_plain();
  std::vector<Tensor> out{y};
  if (n.outputs.size() > 1) {
    // Our dropout returns no mask; in these cases every element is kept, so
    // the mask is checked as (y == x) element-wise.
    Tensor mask = Tensor::empty(x.shape(), DType::u8);
    const std::vector<float> xv = x.to_vector(), yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) mask.data<uint8_t>()[i] = xv[i] == yv[i] ? 1 : 0;
    out.push_back(mask);
    c.notes.push_back("mask checked as (y == x): our dropout returns no mask");
  }
  return out;
}

// --- Cast -----------------------------------------------------------------
std::vector<Tensor> run_cast(Case& c) {
  const Tensor& x = c.input(0);
  const int64_t to = c.node->get_int("to", 0);
  c.exact = true;
  if (c.in[0].onnx_type == onnx::kFloat && to == onnx::kFloat16) return {cast(x, DType::f16)};
  if (c.in[0].onnx_type == onnx::kFloat16 && to == onnx::kFloat) return {cast(x, DType::f32)};
  require(false, std::string("Cast ") + onnx::onnx_type_name(c.in[0].onnx_type) + " to " +
                     onnx::onnx_type_name(static_cast<int32_t>(to)));
  return {};
}

// --- ConvTranspose --------------------------------------------------------
std::vector<Tensor> run_conv_transpose(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  require(x.ndim() == 4 && w.ndim() == 4, "ConvTranspose on a non-4-d input");
  ConvTranspose2dParams p;
  const std::array<int64_t, 2> kernel = pair_attr(n, "kernel_shape", {w.dim(2), w.dim(3)});
  require(kernel[0] == w.dim(2) && kernel[1] == w.dim(3), "kernel_shape disagrees with W");
  p.stride = pair_attr(n, "strides", {1, 1});
  p.dilation = pair_attr(n, "dilations", {1, 1});
  p.groups = n.get_int("group", 1);
  p.output_padding = pair_attr(n, "output_padding", {0, 0});
  const std::string mode = n.get_string("auto_pad", "NOTSET");
  const onnx::Attribute* out_shape = n.find("output_shape");
  if (out_shape != nullptr || mode == "SAME_UPPER" || mode == "SAME_LOWER") {
    // ONNX: total padding = stride*(in-1) + output_padding + extent - out,
    // out = output_shape, or in*stride for SAME_*. A negative total (the
    // output is larger than the plain result) becomes extra output_padding.
    require(out_shape == nullptr || out_shape->ints.size() == 2, "output_shape of 2 values");
    for (int i = 0; i < 2; ++i) {
      const int64_t in = x.dim(2 + i);
      const int64_t out = out_shape ? out_shape->ints[static_cast<size_t>(i)] : in * p.stride[i];
      const int64_t extent = (kernel[i] - 1) * p.dilation[i] + 1;
      const int64_t total = p.stride[i] * (in - 1) + p.output_padding[i] + extent - out;
      if (total < 0) {
        p.output_padding[i] -= total;
        continue;
      }
      const int64_t small = total / 2, big = total - small;
      const bool upper = mode == "SAME_UPPER";
      p.padding_begin[i] = upper ? small : big;
      p.padding_end[i] = upper ? big : small;
    }
    c.notes.push_back(
        "pads derived from output_shape/auto_pad: (" + std::to_string(p.padding_begin[0]) + "+" +
        std::to_string(p.padding_end[0]) + ")x(" + std::to_string(p.padding_begin[1]) + "+" +
        std::to_string(p.padding_end[1]) + "), output_padding " +
        std::to_string(p.output_padding[0]) + "x" + std::to_string(p.output_padding[1]));
  } else {
    require(mode == "NOTSET" || mode == "VALID", "unknown auto_pad " + mode);
    const std::vector<int64_t> pads = n.get_ints("pads", {0, 0, 0, 0});
    require(pads.size() == 4, "pads of a 2-d node must have 4 values");
    p.padding_begin = {pads[0], pads[1]};
    p.padding_end = {pads[2], pads[3]};
  }
  const Tensor b = c.has(2) ? c.input(2) : Tensor();
  return {conv_transpose2d(x, w, b, p).to_plain()};
}

// --- Resize ---------------------------------------------------------------
std::vector<Tensor> run_resize(Case& c) {
  const Node& n = *c.node;
  const Tensor& x = c.input(0);
  require(x.ndim() == 4, "Resize on a non-4-d input");
  require(n.get_string("mode", "nearest") == "linear", "Resize mode " + n.get_string("mode", ""));
  const std::string ct = n.get_string("coordinate_transformation_mode", "half_pixel");
  ResizeParams p;
  if (ct == "half_pixel") {
    p.coordinates = ResizeCoordinates::half_pixel;
  } else if (ct == "pytorch_half_pixel") {
    p.coordinates = ResizeCoordinates::pytorch_half_pixel;
  } else if (ct == "align_corners") {
    p.coordinates = ResizeCoordinates::align_corners;
  } else {
    require(ct == "asymmetric", "coordinate_transformation_mode " + ct);
    p.coordinates = ResizeCoordinates::asymmetric;
  }
  if (c.has(3) && c.input(3).numel() > 0) {  // sizes
    const Tensor& s = c.input(3);
    require(s.dtype() == DType::i64 && s.numel() == 4, "sizes must be 4 INT64 values");
    const int64_t* v = s.data<int64_t>();
    require(v[0] == x.dim(0) && v[1] == x.dim(1), "Resize of N or C");
    p.out_h = v[2];
    p.out_w = v[3];
  } else {
    const std::vector<float> sc = c.input(2).to_vector();  // scales
    require(sc.size() == 4 && sc[0] == 1.0f && sc[1] == 1.0f, "scales must be (1, 1, sh, sw)");
    p.scale_h = sc[2];
    p.scale_w = sc[3];
    p.out_h = static_cast<int64_t>(std::floor(static_cast<double>(x.dim(2)) * sc[2]));
    p.out_w = static_cast<int64_t>(std::floor(static_cast<double>(x.dim(3)) * sc[3]));
  }
  return {resize_bilinear(x, p)};
}

// --- LRN ------------------------------------------------------------------
std::vector<Tensor> run_lrn(Case& c) {
  const Node& n = *c.node;
  require(c.input(0).ndim() == 4, "LRN on a non-4-d input");
  LrnParams p;
  p.size = n.get_int("size", 0);
  p.alpha = n.get_float("alpha", 1e-4f);
  p.beta = n.get_float("beta", 0.75f);
  p.k = n.get_float("bias", 1.0f);
  require(p.size % 2 == 1, "LRN with an even size");
  return {local_response_norm(c.input(0), p).to_plain()};
}

// --- Slice ----------------------------------------------------------------
std::vector<Tensor> run_slice(Case& c) {
  const Tensor& x = c.input(0);
  auto ints = [&](size_t i) {
    const Tensor& t = c.input(i);
    require(t.dtype() == DType::i64 || t.dtype() == DType::i32, "Slice index input not INT");
    std::vector<int64_t> v(static_cast<size_t>(t.numel()));
    for (size_t k = 0; k < v.size(); ++k) {
      v[k] = t.dtype() == DType::i64 ? t.data<int64_t>()[k] : t.data<int32_t>()[k];
    }
    return v;
  };
  const std::vector<int64_t> starts = ints(1), ends = ints(2);
  std::vector<int64_t> axes(starts.size());
  for (size_t k = 0; k < axes.size(); ++k) axes[k] = static_cast<int64_t>(k);
  if (c.has(3)) axes = ints(3);
  if (c.has(4)) {
    for (int64_t s : ints(4)) require(s == 1, "Slice with steps != 1");
  }
  Tensor y = x;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = normalize_axis(axes[k], x.ndim());
    const int64_t dim = x.dim(static_cast<int>(a));
    // ONNX: negative bounds count from the end; then clamp to [0, dim].
    auto resolve = [dim](int64_t v) { return std::clamp(v < 0 ? v + dim : v, int64_t{0}, dim); };
    const int64_t b = resolve(starts[k]);
    const int64_t e = std::max(b, resolve(ends[k]));
    y = slice(y, static_cast<int>(a), b, e);
  }
  return {y};
}

// --- Gather (axis 0: embedding) ------------------------------------------
std::vector<Tensor> run_gather(Case& c) {
  const Tensor data = c.input(0).to_plain();
  const Tensor& idx = c.input(1);
  require(normalize_axis(c.node->get_int("axis", 0), data.ndim()) == 0,
          "Gather on an axis other than 0");
  require(data.dtype() == DType::f32, "Gather of non-f32 data");
  int64_t rest = 1;
  for (int64_t d = 1; d < data.ndim(); ++d) rest *= data.dim(static_cast<int>(d));
  Shape out = idx.shape();
  out.insert(out.end(), data.shape().begin() + 1, data.shape().end());
  return {embedding(data.reshape({data.dim(0), rest}), idx).reshape(out)};
}

// --- RoiAlign ----------------------------------------------------------------
std::vector<Tensor> run_roi_align(Case& c) {
  const Node& n = *c.node;
  require(n.get_string("mode", "avg") == "avg", "RoiAlign mode " + n.get_string("mode", ""));
  // Before opset 16 there was no attribute and the behaviour was output_half_pixel.
  const std::string ct = n.get_string("coordinate_transformation_mode",
                                      c.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  require(ct == "half_pixel" || ct == "output_half_pixel",
          "RoiAlign coordinate_transformation_mode " + ct);
  RoiAlignParams p;
  p.output_h = n.get_int("output_height", 1);
  p.output_w = n.get_int("output_width", 1);
  p.sampling_ratio = n.get_int("sampling_ratio", 0);
  p.spatial_scale = n.get_float("spatial_scale", 1.0f);
  p.aligned = ct == "half_pixel";
  return {roi_align(c.input(0), c.input(1), c.input(2), p)};
}

// --- NonMaxSuppression -------------------------------------------------------
// ONNX boxes (B, S, 4) as y1, x1, y2, x2 in either order (center_point_box
// 0) or x, y centre, width, height (1), to our x1, y1, x2, y2 for one batch.
Tensor onnx_boxes_as_corners(const Tensor& in, int64_t batch, bool centre) {
  const int64_t s = in.dim(1);
  Tensor out = Tensor::empty({s, 4});
  const float* b = in.data<float>() + batch * s * 4;
  float* o = out.data<float>();
  for (int64_t i = 0; i < s; ++i, b += 4, o += 4) {
    if (centre) {
      o[0] = b[0] - b[2] / 2;
      o[1] = b[1] - b[3] / 2;
      o[2] = b[0] + b[2] / 2;
      o[3] = b[1] + b[3] / 2;
    } else {
      o[0] = std::min(b[1], b[3]);
      o[1] = std::min(b[0], b[2]);
      o[2] = std::max(b[1], b[3]);
      o[3] = std::max(b[0], b[2]);
    }
  }
  return out;
}

std::vector<Tensor> run_nms(Case& c) {
  const Tensor boxes = c.input(0).to_plain(), scores = c.input(1).to_plain();
  require(boxes.ndim() == 3 && scores.ndim() == 3, "NonMaxSuppression shapes");
  const int64_t limit = c.has(2) ? c.input(2).to(Device::cpu()).data<int64_t>()[0] : 0;
  NmsOptions o;
  o.iou_threshold = c.has(3) ? c.input(3).to_vector()[0] : 0.0;
  if (c.has(4)) o.score_threshold = c.input(4).to_vector()[0];
  o.max_output = limit;
  const bool centre = c.node->get_int("center_point_box", 0) == 1;
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < boxes.dim(0) && limit > 0; ++b) {
    const Tensor corners = onnx_boxes_as_corners(boxes, b, centre);
    for (int64_t k = 0; k < scores.dim(1); ++k) {
      const Tensor s = slice(slice(scores, 0, b, b + 1), 1, k, k + 1).reshape({scores.dim(2)});
      for (int64_t i : nms(corners, s, o)) rows.insert(rows.end(), {b, k, i});
    }
  }
  Tensor out = Tensor::empty({static_cast<int64_t>(rows.size()) / 3, 3}, DType::i64);
  std::copy(rows.begin(), rows.end(), out.data<int64_t>());
  c.exact = true;
  return {out};
}

const std::map<std::string, Runner>& runners() {
  static const std::map<std::string, Runner> m = {
      {"Relu", run_relu},
      {"Conv", run_conv},
      {"MaxPool", run_max_pool},
      {"AveragePool", run_avg_pool},
      {"GlobalAveragePool", run_global_avg_pool},
      {"BatchNormalization", run_batch_norm},
      {"Gemm", run_gemm},
      {"Softmax", run_softmax},
      {"SoftmaxCrossEntropyLoss", run_sce},
      {"Concat", run_concat},
      {"Add", run_add},
      {"Flatten", run_flatten},
      {"Reshape", run_reshape},
      {"Dropout", run_dropout},
      {"Cast", run_cast},
      {"ConvTranspose", run_conv_transpose},
      {"Resize", run_resize},
      {"LRN", run_lrn},
      {"Slice", run_slice},
      {"Gather", run_gather},
      {"RoiAlign", run_roi_align},
      {"NonMaxSuppression", run_nms},
  };
  return m;
}

// ---------------------------------------------------------------------------
// Comparison.

std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = shape[k] ? flat % shape[k] : 0;
    flat = shape[k] ? flat / shape[k] : 0;
  }
  std::ostringstream os;
  os << "[";
  for (size_t k = 0; k < idx.size(); ++k) os << (k ? "," : "") << idx[k];
  os << "]";
  return os.str();
}

int ulp_distance_f16(uint16_t a, uint16_t b) {
  // Map sign-magnitude to a monotonic integer line.
  auto key = [](uint16_t h) {
    return (h & 0x8000) ? -static_cast<int>(h & 0x7fff) : static_cast<int>(h);
  };
  return std::abs(key(a) - key(b));
}

bool f16_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0; }

constexpr double kTolF32 = 1e-4;

// Compares one output; returns a one-line summary for the log.
std::string compare(const std::string& what, const Tensor& got_in, const OnnxTensor& want,
                    bool exact) {
  std::ostringstream sum;
  const Tensor& w = want.tensor;
  const Tensor got = got_in.to_plain();
  EXPECT_EQ(dtype_name(got.dtype()), std::string(dtype_name(w.dtype()))) << what << ": dtype";
  EXPECT_EQ(shape_str(got.shape()), shape_str(w.shape())) << what << ": shape";
  if (got.dtype() != w.dtype() || got.shape() != w.shape()) return what + ": dtype/shape mismatch";
  const int64_t n = w.numel();
  if (w.dtype() == DType::f32) {
    const float* g = got.data<float>();
    const float* e = w.data<float>();
    double max_diff = 0, max_ref = 1e-3;
    int64_t worst = -1, nan_bad = 0, inexact = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(e[i]) || std::isnan(g[i]) || std::isinf(e[i]) || std::isinf(g[i])) {
        const bool same = (std::isnan(e[i]) && std::isnan(g[i])) || e[i] == g[i];
        if (!same) ++nan_bad;
        continue;
      }
      if (std::memcmp(&g[i], &e[i], 4) != 0) ++inexact;
      const double d = std::fabs(static_cast<double>(g[i]) - e[i]);
      if (worst < 0 || d > max_diff) {
        max_diff = d;
        worst = i;
      }
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(e[i])));
    }
    const double rel = max_diff / max_ref;
    if (inexact == 0 && nan_bad == 0) {
      sum << what << ": all " << n << " values bit-exact";
    } else if (worst >= 0) {
      sum << what << ": " << inexact << " of " << n << " values inexact, max |diff| " << max_diff
          << " at " << index_str(w.shape(), worst) << " (got " << g[worst] << ", want " << e[worst]
          << "), relative " << rel;
    } else {
      sum << what << ": empty";
    }
    EXPECT_EQ(nan_bad, 0) << what << ": " << nan_bad << " NaN/inf mismatches; " << sum.str();
    if (exact) {
      EXPECT_EQ(inexact, 0) << what << ": " << inexact << " of " << n << " values differ bitwise; "
                            << sum.str();
    } else {
      EXPECT_LE(rel, kTolF32) << sum.str();
    }
  } else if (w.dtype() == DType::f16) {
    const uint16_t* g = got.data<uint16_t>();
    const uint16_t* e = w.data<uint16_t>();
    int max_ulp = 0;
    int64_t worst = -1, inexact = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (f16_is_nan(e[i]) && f16_is_nan(g[i])) continue;
      const int u = (f16_is_nan(e[i]) || f16_is_nan(g[i])) ? 1 << 16 : ulp_distance_f16(g[i], e[i]);
      if (u != 0) ++inexact;
      if (u > max_ulp) {
        max_ulp = u;
        worst = i;
      }
    }
    sum << what << ": " << inexact << " of " << n << " f16 values differ, max " << max_ulp
        << " ulp";
    if (worst >= 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " (at %s: got 0x%04x, want 0x%04x)",
                    index_str(w.shape(), worst).c_str(), g[worst], e[worst]);
      sum << buf;
    }
    EXPECT_LE(max_ulp, 1) << sum.str();
  } else {
    const size_t bytes = static_cast<size_t>(n) * dtype_size(w.dtype());
    int64_t differ = 0;
    const auto* g = static_cast<const uint8_t*>(got.raw());
    const auto* e = static_cast<const uint8_t*>(w.raw());
    const size_t es = dtype_size(w.dtype());
    for (size_t i = 0; i < bytes; i += es) differ += std::memcmp(g + i, e + i, es) != 0;
    sum << what << ": " << differ << " of " << n << " " << dtype_name(w.dtype())
        << " values differ";
    EXPECT_EQ(differ, 0) << sum.str();
  }
  return sum.str();
}

// ---------------------------------------------------------------------------
// Loading and running one case directory.

std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

void run_data_set(const onnx::Model& model, const fs::path& set, const Runner& runner) {
  const Node& node = model.nodes[0];
  // Feeds: graph inputs that are not initializers, in order, are input_<i>.pb.
  std::map<std::string, OnnxTensor> values;
  for (const OnnxTensor& t : model.initializers) values[t.name] = t;
  size_t k = 0;
  for (const std::string& name : model.inputs) {
    if (model.find_initializer(name)) continue;
    const fs::path f = set / ("input_" + std::to_string(k++) + ".pb");
    ASSERT_TRUE(fs::exists(f)) << f << " missing for graph input " << name;
    values[name] = onnx::read_tensor(f.string());
  }
  ASSERT_FALSE(fs::exists(set / ("input_" + std::to_string(k) + ".pb")))
      << "more input files than graph inputs in " << set;

  Case c;
  c.model = &model;
  c.node = &node;
  for (const std::string& name : node.inputs) {
    if (name.empty()) {
      c.in.emplace_back();
      continue;
    }
    auto it = values.find(name);
    ASSERT_NE(it, values.end()) << "node input " << name << " is not fed";
    c.in.push_back(it->second);
  }
  // Expected: output_<i>.pb are the graph outputs in order.
  std::map<std::string, OnnxTensor> expected;
  for (size_t i = 0; i < model.outputs.size(); ++i) {
    expected[model.outputs[i]] =
        onnx::read_tensor((set / ("output_" + std::to_string(i) + ".pb")).string());
  }
  for (const std::string& name : node.outputs) {
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << "node output " << name << " has no expected file";
    c.want.push_back(it->second);
  }

  const std::vector<Tensor> got = runner(c);
  ASSERT_EQ(got.size(), node.outputs.size()) << "runner returned a wrong number of outputs";
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string what =
        node.op_type + " output " + std::to_string(i) + " '" + node.outputs[i] + "'";
    if (!got[i].defined()) {
      std::printf("[ onnx     ] %s: not checked\n", what.c_str());
      continue;
    }
    const std::string line = compare(what, got[i], c.want[i], c.exact);
    std::printf("[ onnx     ] %s\n", line.c_str());
  }
  for (const std::string& note : c.notes) std::printf("[ onnx     ]   note: %s\n", note.c_str());
}

struct CaseParam {
  std::string dir;
  std::string skip;  // empty: run
};

void PrintTo(const CaseParam& c, std::ostream* os) { *os << c.dir; }

std::vector<CaseParam> all_cases() {
  std::vector<CaseParam> v;
  for (const char* d : kRun) v.push_back({d, ""});
  for (const Skipped& s : kSkipped) v.push_back({s.dir, s.reason});
  return v;
}

std::string param_name(const ::testing::TestParamInfo<CaseParam>& info) {
  std::string s = info.param.dir;
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

class OnnxConformance : public ::testing::TestWithParam<CaseParam> {};

TEST_P(OnnxConformance, Case) {
  const CaseParam& p = GetParam();
  ASSERT_TRUE(fs::is_directory(data_root())) << missing_data_message();
  if (!p.skip.empty()) GTEST_SKIP() << p.skip;
  const fs::path dir = fs::path(data_root()) / p.dir;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: libonnx-testdata differs from 1.12?";
  const onnx::Model model = onnx::read_model((dir / "model.onnx").string());
  ASSERT_EQ(model.nodes.size(), 1u) << "expected a single-node model";
  const std::string& op = model.nodes[0].op_type;
  auto it = runners().find(op);
  ASSERT_NE(it, runners().end()) << "no runner for " << op;
  std::printf("[ onnx     ] %s: %s, opset %lld\n", p.dir.c_str(), op.c_str(),
              static_cast<long long>(model.opset));
  const std::vector<fs::path> sets = data_sets(dir);
  ASSERT_FALSE(sets.empty()) << "no test_data_set_* in " << dir;
  for (const fs::path& set : sets) {
    SCOPED_TRACE(set.string());
    run_data_set(model, set, it->second);
  }
}

INSTANTIATE_TEST_SUITE_P(Libonnx, OnnxConformance, ::testing::ValuesIn(all_cases()), param_name);

// Every case directory whose graph uses one of our ops, or that is the
// expanded body of a listed case, must be listed (run or skipped), and every
// listed directory must exist. Expanded bodies of other ops (LayerNorm's uses
// Add, Cast, Reshape...) are not ours to list.
TEST(OnnxConformanceTable, ListsEveryCaseOfOurOps) {
  ASSERT_TRUE(fs::is_directory(data_root())) << missing_data_message();
  std::set<std::string> listed;
  for (const CaseParam& c : all_cases()) {
    EXPECT_TRUE(listed.insert(c.dir).second) << c.dir << " listed twice";
    EXPECT_TRUE(fs::is_directory(fs::path(data_root()) / c.dir)) << c.dir << " does not exist";
  }
  int scanned = 0;
  for (const char* folder : kFolders) {
    for (const auto& e : fs::directory_iterator(fs::path(data_root()) / folder)) {
      const std::string rel = std::string(folder) + "/" + e.path().filename().string();
      const onnx::Model m = onnx::read_model((e.path() / "model.onnx").string());
      ++scanned;
      // An *_expanded graph is the function body of another op: listed when
      // that op's case is. Any other graph is listed when it uses one of ours.
      const std::string suffix = "_expanded";
      bool ours = false;
      if (rel.ends_with(suffix)) {
        ours = listed.count(rel.substr(0, rel.size() - suffix.size())) > 0;
      } else {
        for (const Node& n : m.nodes) ours = ours || our_op_types().count(n.op_type) > 0;
      }
      if (ours) {
        EXPECT_TRUE(listed.count(rel)) << rel << " uses our ops but is not listed";
      }
    }
  }
  // SKIPPED.md names every skipped case.
  const std::string md_path = std::string(RINGMASTER_SOURCE_DIR) + "/tests/ops/onnx/SKIPPED.md";
  const std::vector<uint8_t> md_bytes = onnx::read_file(md_path);
  const std::string md(md_bytes.begin(), md_bytes.end());
  for (const Skipped& sk : kSkipped) {
    EXPECT_NE(md.find(std::string("`") + sk.dir + "`"), std::string::npos)
        << sk.dir << " is skipped but not named in " << md_path;
  }
  std::printf("[ onnx     ] %d models scanned; %zu run, %zu skipped\n", scanned, std::size(kRun),
              std::size(kSkipped));
}

}  // namespace
}  // namespace ringmaster::ops

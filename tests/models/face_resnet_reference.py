#!/usr/bin/env python3
"""Independent reference for face_resnet_test: face-api's FaceRecognitionNet
forward pass in numpy (float64, NHWC, tfjs layouts), written from
@vladmandic/face-api 1.7.15 src/faceRecognitionNet/*.ts and reading the tfjs
weights manifest and .bin itself (none of ringmaster's code).

usage: face_resnet_reference.py MANIFEST INPUT.f32 N H OUTPUT.f32
INPUT: N x 3 x H x H little-endian float32, RGB in [0, 1] (NCHW);
OUTPUT: N x 128 float32 descriptors.
"""
import json
import os
import sys

import numpy as np


def load_weights(manifest_path):
    with open(manifest_path) as f:
        groups = json.load(f)
    out = {}
    folder = os.path.dirname(manifest_path)
    for group in groups:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                assert q["dtype"] == "uint8", q
                v = np.frombuffer(data, np.uint8, n, offset).astype(np.float64)
                v = v * q["scale"] + q["min"]
                offset += n
            else:
                assert w["dtype"] == "float32", w
                v = np.frombuffer(data, "<f4", n, offset).astype(np.float64)
                offset += 4 * n
            out[w["name"]] = v.reshape(w["shape"])
        assert offset == len(data), (offset, len(data))
    return out


def conv2d(x, filters, stride, padding):
    """tf.conv2d: x (N, H, W, C), filters (KH, KW, C, O), 'same' or 'valid'."""
    kh, kw = filters.shape[:2]
    if padding == "same":
        assert stride == 1 and kh % 2 == 1
        p = kh // 2
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, h, w, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    s = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]))
    return np.tensordot(patches, filters, axes=([3, 4, 5], [0, 1, 2]))


def pool(x, k, stride, op):
    n, h, w, c = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    s = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, k, k, c), (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]))
    return op(patches, axis=(3, 4))


def conv_layer(x, wts, prefix, stride, relu, padding="same"):
    out = conv2d(x, wts[prefix + "/conv/filters"], stride, padding)
    out = out + wts[prefix + "/conv/bias"]
    out = out * wts[prefix + "/scale/weights"] + wts[prefix + "/scale/biases"]
    return np.maximum(out, 0) if relu else out


def residual(x, wts, prefix):
    out = conv_layer(x, wts, prefix + "/conv1", 1, True)
    out = conv_layer(out, wts, prefix + "/conv2", 1, False)
    return np.maximum(out + x, 0)


def residual_down(x, wts, prefix):
    out = conv_layer(x, wts, prefix + "/conv1", 2, True, "valid")
    out = conv_layer(out, wts, prefix + "/conv2", 1, False)
    pooled = pool(x, 2, 2, np.mean)
    if pooled.shape[1:3] != out.shape[1:3]:  # one zero row at the bottom, one column at the right
        out = np.concatenate([out, np.zeros((out.shape[0], 1) + out.shape[2:])], 1)
        out = np.concatenate([out, np.zeros(out.shape[:2] + (1, out.shape[3]))], 2)
    if pooled.shape[3] != out.shape[3]:
        pooled = np.concatenate([pooled, np.zeros(pooled.shape)], 3)
    return np.maximum(pooled + out, 0)


def forward(x, wts):
    """x: (N, 150, 150, 3) RGB in 0..255 -> (N, 128)."""
    x = (x - np.array([122.782, 117.001, 104.298])) / 255
    out = conv_layer(x, wts, "conv32_down", 2, True, "valid")
    out = pool(out, 3, 2, np.max)
    for name in ["conv32_1", "conv32_2", "conv32_3"]:
        out = residual(out, wts, name)
    out = residual_down(out, wts, "conv64_down")
    for name in ["conv64_1", "conv64_2", "conv64_3"]:
        out = residual(out, wts, name)
    out = residual_down(out, wts, "conv128_down")
    for name in ["conv128_1", "conv128_2"]:
        out = residual(out, wts, name)
    out = residual_down(out, wts, "conv256_down")
    for name in ["conv256_1", "conv256_2"]:
        out = residual(out, wts, name)
    out = residual_down(out, wts, "conv256_down_out")
    return out.mean(axis=(1, 2)) @ wts["fc"]


def main():
    manifest, in_path, n, h, out_path = sys.argv[1:]
    n, h = int(n), int(h)
    x = np.fromfile(in_path, "<f4").astype(np.float64).reshape(n, 3, h, h)
    desc = forward(x.transpose(0, 2, 3, 1) * 255.0, load_weights(manifest))
    desc.astype("<f4").tofile(out_path)


if __name__ == "__main__":
    main()

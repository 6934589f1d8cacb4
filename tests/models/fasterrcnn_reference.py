#!/usr/bin/env python3
"""Prints torchvision's fasterrcnn_resnet50_fpn (91 classes, no weights) as
`name shape` lines, one per parameter, and the total: what
tests/models/data/fasterrcnn_resnet50_fpn_parameters.txt holds and
faster_rcnn_test.cpp compares our faster_rcnn with. Needs Debian's
python3-torchvision (0.14): /usr/bin/python3 tests/models/fasterrcnn_reference.py
"""
import torchvision
from torchvision.models.detection import fasterrcnn_resnet50_fpn

model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
print(f"# torchvision {torchvision.__version__} fasterrcnn_resnet50_fpn(weights=None, "
      "weights_backbone=None, num_classes=91)")
total = 0
for name, p in model.named_parameters():
    print(name, "x".join(str(d) for d in p.shape))
    total += p.numel()
print("# total", total)

"""Backbones: ImageNet networks, their weights, and the features they compute.

`registry` maps a name to a Keras backbone with its input size, preprocessing and weight
source. The EfficientNet-Lite networks are built in Keras (`efficientnet_lite`) and take
their weights from PyTorch checkpoints read without torch (`torch_checkpoint`). `features`
runs a frozen backbone over photos and caches what it computes, on ONNX Runtime
(`onnx_features`) when it can; `onnx_backend` exports a model to ONNX Runtime, the faster
engine for prediction here.
"""

"""Quantization-aware training: the loop, checkpoints, optimizer and schedule."""

from hwcompress.train.loop import EpochStats, Reporter, SilentReporter, accuracy, fit, predict

__all__ = ["EpochStats", "Reporter", "SilentReporter", "accuracy", "fit", "predict"]

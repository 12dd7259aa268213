"""The tests' TFLite writer: the one the fuzzer ships with (tinyml/fuzz/tflite_writer.py)."""

from tinyml.fuzz.tflite_writer import TFLiteBuilder

__all__ = ["TFLiteBuilder"]

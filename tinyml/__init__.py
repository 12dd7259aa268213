"""tinyml: neural networks compiled to plain C for Arm Cortex-M."""

__version__ = "0.1.0"

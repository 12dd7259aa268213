"""Kernel variants and their choice per layer (tinyml/kernels/registry.py).

Adding a variant: one module here, imported below, plus its test (docs/kernels.md).
"""

from . import portable  # noqa: F401  (registers the portable variant of every op)
from . import ternary  # noqa: F401  (the portable variants on ternary weights)
from . import conv2d_1x1_s8  # noqa: F401
from . import conv2d_1x1_f32, conv2d_blocked_f32  # noqa: F401  (float32, FPU)
from . import depthwise_conv2d_blocked_f32, fully_connected_blocked_f32  # noqa: F401
from . import depthwise_conv2d_3x3_dsp_s8, depthwise_conv2d_dsp_s8  # noqa: F401
from . import conv2d_1x1_dsp_s8  # noqa: F401
from . import conv2d_im2col_dsp_s8  # noqa: F401
from . import fully_connected_dsp_s8, fully_connected_direct_dsp_s8  # noqa: F401
from . import depthwise_conv2d_3x3_sweep_dsp_s8  # noqa: F401
from . import add_lut_s8, pool2d_dsp_s8  # noqa: F401
from . import conv2d_1x1_fast_s8, conv2d_im2col_fast_s8  # noqa: F401  (portable, fast)
from . import depthwise_conv2d_3x3_fast_s8, fully_connected_fast_s8  # noqa: F401
from . import conv2d_1x1_dsp_s8t2, fully_connected_dsp_s8t2  # noqa: F401  (ternary, DSP)
from . import conv2d_im2col_dsp_s8t2, fully_connected_lut_dsp_s8t2  # noqa: F401
from . import depthwise_conv2d_3x3_dsp_s8t2  # noqa: F401
from .registry import VARIANTS, Choice, KernelVariant, select, variant

__all__ = ["VARIANTS", "Choice", "KernelVariant", "select", "variant"]

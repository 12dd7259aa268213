"""Where the C templates, kernels and firmware sources live: inside the wheel or the checkout."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`codegen` or `firmware_templates`: packaged copy first, then the source checkout."""
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"tinyml installation is missing its {name}/ folder")

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

SHARED_MODELS = Path(os.environ.get("TINYML_SHARED_MODELS",
                                    Path(__file__).resolve().parents[2] / "shared" / "models"))


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models (the real third-party models); tests skip where it is absent."""
    if not (SHARED_MODELS / "MANIFEST.md").is_file():
        pytest.skip(f"shared models not present at {SHARED_MODELS} (a user's clone)")
    return SHARED_MODELS

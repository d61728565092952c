"""docker-py's vendored tests are upstream's, byte for byte (tests/vendor/docker_py/README.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

VENDOR = Path(__file__).resolve().parents[1] / "vendor" / "docker_py"
UPSTREAM_COMMIT = "afc6d1ee308e78b908b96a94298c37fa8c465588"
# sha256 of each file as `git show afc6d1ee:tests/<path>` prints it
SHA256 = {
    "__init__.py": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "helpers.py": "d6f8929d28c7cd516966255dd5414f0abf8cbea36b06e1fb5f7ae77d16d94872",
    "integration/__init__.py": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "integration/api_network_test.py": "810ab222f5565ee01f095a11bf39ca0724c558129f3b7dad1a29761675e2b47b",
    "integration/base.py": "91fff1ff300e3afa6e359dfe4b91a976d4c2dca0be8c2e34d9fb13baa61377e1",
    "integration/conftest.py": "042e72e9bf6298a66201819ffcdf9ac9bc9809eea5a7aec7b85555b6901ebf33",
    "integration/models_networks_test.py": "62bd4aa50d46c66db701f1d3d71f9b72e3b9f3f5a6a737394dcb10b7a0bf45b1",
}


def test_the_vendored_files_are_upstreams_unmodified() -> None:
    got = {name: hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() for name in SHA256}
    assert got == SHA256
    assert UPSTREAM_COMMIT in (VENDOR / "README.md").read_text()
    assert "Apache License" in (VENDOR / "LICENSE").read_text()

"""The vendored ONNX Runtime Web files: pinned by sha256, re-created byte for byte by the script."""

import hashlib
import importlib.util
import io
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def vendor():
    spec = importlib.util.spec_from_file_location("vendor_onnxruntime_web", SCRIPTS / "vendor_onnxruntime_web.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["vendor_onnxruntime_web"] = module
    spec.loader.exec_module(module)
    return module


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    """An npm-pack-shaped tarball (package/dist/...) holding these files."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_committed_files_match_their_pinned_sha256(vendor):
    names = sorted(p.name for p in vendor.OUT_DIR.iterdir())
    assert names == sorted([*vendor.FILES, vendor.LICENSE_NAME])
    for name, want in vendor.FILES.items():
        assert hashlib.sha256((vendor.OUT_DIR / name).read_bytes()).hexdigest() == want, name
    assert (vendor.OUT_DIR / vendor.LICENSE_NAME).read_text() == vendor.LICENSE
    assert "MIT License" in vendor.LICENSE and vendor.VERSION in vendor.LICENSE


def test_script_recreates_the_files_byte_for_byte(vendor, tmp_path):
    committed = {name: (vendor.OUT_DIR / name).read_bytes() for name in vendor.FILES}
    tgz = _tarball(tmp_path / "onnxruntime-web.tgz", {**committed, "ort.all.min.js": b"not taken"})
    out = tmp_path / "out"
    assert vendor.main([str(tgz), "--out", str(out)]) == 0
    for path in vendor.OUT_DIR.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    assert not (out / "ort.all.min.js").exists()


def test_script_refuses_another_build_and_writes_nothing(vendor, tmp_path, capsys):
    files = {name: (vendor.OUT_DIR / name).read_bytes() for name in vendor.FILES}
    files["ort-wasm-simd-threaded.wasm"] += b"\0"
    out = tmp_path / "out"
    assert vendor.main([str(_tarball(tmp_path / "bad.tgz", files)), "--out", str(out)]) == 1
    assert "ort-wasm-simd-threaded.wasm" in capsys.readouterr().err and not out.exists()
    (tmp_path / "junk.tgz").write_bytes(b"junk")
    assert vendor.main([str(tmp_path / "junk.tgz"), "--out", str(out)]) == 1
    assert "not a readable npm tarball" in capsys.readouterr().err and not out.exists()

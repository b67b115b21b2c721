"""Copy ONNX Runtime Web's WASM build out of its npm package into emolens's static files.

Why vendor: the "on this device" pages run the models in the browser, offline, with no CDN;
the server serves these files itself. Only the plain WASM backend is taken (SIMD; one binary runs
single-threaded, and multi-threaded where the page is cross-origin isolated): no WebGL, WebGPU or
JSEP builds. npm is needed here, once, to fetch the package; never at run time or in the tests.

    npm pack onnxruntime-web@1.30.0 --pack-destination /tmp/ortweb
    python scripts/vendor_onnxruntime_web.py /tmp/ortweb/onnxruntime-web-1.30.0.tgz

Every file written must match its pinned sha256 (FILES), so a run re-creates the committed files
byte for byte or fails and writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tarfile
from pathlib import Path

VERSION = "1.30.0"
TARBALL_SHA256 = "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71"  # npm pack, as fetched
OUT_DIR = Path(__file__).resolve().parents[1] / "src/emolens/web/static/vendor/onnxruntime-web"
FILES = {  # file in the package's dist/ -> sha256
    "ort.wasm.min.js": "faece07e84faa9001f5104bbe4e5c70861d06cb2376a0dea1fa0ad33a67adc81",
    "ort-wasm-simd-threaded.mjs": "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b",
    "ort-wasm-simd-threaded.wasm": "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
}
LICENSE_NAME = "LICENSE.txt"
LICENSE = f"""\
ONNX Runtime Web {VERSION} (npm package onnxruntime-web, "license": "MIT"), files from its dist/
folder, unchanged: {", ".join(FILES)}.
npm tarball onnxruntime-web-{VERSION}.tgz sha256 {TARBALL_SHA256}.
Vendored by scripts/vendor_onnxruntime_web.py. Source: the microsoft/onnxruntime repository.

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class VendorError(RuntimeError):
    """A tarball that is not the pinned onnxruntime-web build."""


def extract(tarball: Path) -> dict[str, bytes]:
    """The pinned files of the npm tarball, checked against their sha256; raises VendorError."""
    try:
        tar = tarfile.open(tarball, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise VendorError(f"{tarball}: not a readable npm tarball ({exc})") from None
    out = {}
    with tar:
        for name, want in FILES.items():
            try:
                member = tar.extractfile(f"package/dist/{name}")
            except KeyError:
                member = None
            if member is None:
                raise VendorError(f"{tarball} has no package/dist/{name}: is it onnxruntime-web {VERSION}?")
            data = member.read()
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                raise VendorError(f"{name} in {tarball} has sha256 {got}, expected {want} (onnxruntime-web {VERSION})")
            out[name] = data
    return out


def write(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """The checked files and the licence note into out_dir (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
        written.append(out_dir / name)
    (out_dir / LICENSE_NAME).write_text(LICENSE)
    return [*written, out_dir / LICENSE_NAME]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tarball", type=Path, help=f"onnxruntime-web-{VERSION}.tgz from `npm pack`")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write (default: the package's static files)")
    args = ap.parse_args(argv)
    try:
        files = extract(args.tarball)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in write(files, args.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

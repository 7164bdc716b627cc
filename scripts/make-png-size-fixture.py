"""Writes test/ood/fixtures/png-sizes.json: the PNG sizes an independent encoder (Pillow, over the system
zlib) writes for the first 100 FashionMNIST and MNIST test images, the reference lib/ood/complexity.ts's
PNG encoder (libpng through sharp) is tested against. Not run by the tests or CI (they read the stored file).

    python3 -m venv /tmp/pilvenv && /tmp/pilvenv/bin/pip install pillow numpy
    /tmp/pilvenv/bin/python scripts/make-png-size-fixture.py

Each image is saved as an 8-bit gray PNG (mode L, colour type 0) with optimize=True and compress_level=9.
"fileBytes" is the whole file (Pillow writes only IHDR, IDAT and IEND here); "idatBytes" the IDAT chunks'
data, the filtered and deflated pixels.
"""
import gzip
import io
import json
import pathlib
import struct

import numpy as np
import PIL
from PIL import Image

N = 100
SETS = {
    "fashion-mnist": "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
    "mnist": "/work/shared/datasets/mnist/t10k-images-idx3-ubyte.gz",
}


def idx_images(path, n):
    with gzip.open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, f"{path}: not an IDX image file"
        return np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)


def idat_bytes(png):
    total, pos = 0, 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        if png[pos + 4 : pos + 8] == b"IDAT":
            total += length
        pos += 12 + length
    return total


out = {"made_by": f"scripts/make-png-size-fixture.py, Pillow {PIL.__version__}, optimize=True, compress_level=9", "n": N, "sets": {}}
for name, path in SETS.items():
    files, idats = [], []
    for img in idx_images(path, N):
        buf = io.BytesIO()
        Image.fromarray(img, mode="L").save(buf, format="PNG", optimize=True, compress_level=9)
        png = buf.getvalue()
        assert png[25] == 0, "Pillow wrote a PNG that is not gray"
        files.append(len(png))
        idats.append(idat_bytes(png))
    out["sets"][name] = {"file": path, "fileBytes": files, "idatBytes": idats}
    print(name, "mean file bytes", np.mean(files), "mean IDAT bytes", np.mean(idats))
target = pathlib.Path(__file__).resolve().parent.parent / "test" / "ood" / "fixtures" / "png-sizes.json"
target.write_text(json.dumps(out) + "\n")

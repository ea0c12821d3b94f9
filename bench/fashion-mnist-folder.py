#!/usr/bin/env python3
"""Writes Fashion-MNIST images as PNG files in class sub-folders, the layout `folder:DIR` reads (DIR/train, DIR/test).

Usage: bench/fashion-mnist-folder.py OUT [--train 2000] [--test 500] [--source /usr/share/datasets/fashion-mnist]
The first N images of each split are written, as 8-bit grey PNGs (standard library only: no PIL or numpy).
"""
import argparse
import gzip
import os
import struct
import zlib

# Label order of Fashion-MNIST; '/' cannot be in a folder name.
CLASSES = ["T-shirt-top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def png(width, height, grey):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + grey[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def export(source, prefix, out, count):
    (n, h, w), pixels = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"))
    for c in CLASSES:
        os.makedirs(os.path.join(out, c), exist_ok=True)
    for i in range(min(count, n)):
        with open(os.path.join(out, CLASSES[labels[i]], f"{i:05d}.png"), "wb") as f:
            f.write(png(w, h, pixels[i * h * w:(i + 1) * h * w]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    export(a.source, "train", os.path.join(a.out, "train"), a.train)
    export(a.source, "t10k", os.path.join(a.out, "test"), a.test)


if __name__ == "__main__":
    main()

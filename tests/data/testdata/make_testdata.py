#!/usr/bin/env python3
"""Regenerates the binary fixtures of tests/data (run from the repo root with numpy installed).

The tests themselves never run Python: the expected values are written into the tests.
"""
import struct

import numpy as np

OUT = "tests/data/testdata/"


def idx(path, array, type_code):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    with open(OUT + path, "wb") as f:
        f.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


# Four 2x3 "images" of uint8 pixels: pixel (i, r, c) = 10 * i + 3 * r + c, plus 250 in the corner.
images = np.array([[[10 * i + 3 * r + c for c in range(3)] for r in range(2)] for i in range(4)],
                  dtype=np.uint8)
images[:, 1, 2] = 250
idx("tiny-images-idx3-ubyte", images, 0x08)
idx("tiny-labels-idx1-ubyte", np.array([3, 0, 9, 1], dtype=np.uint8), 0x08)
# Big-endian int16 and float64 variants.
idx("int16-idx2", np.array([[-300, 2], [7, 1000]], dtype=np.int16), 0x0B)
idx("float64-idx1", np.array([0.5, -1.25, 3e10], dtype=np.float64), 0x0E)

np.save(OUT + "float64.npy", np.array([[1.5, -2.0, 3.25], [4.0, 5.5, -6.75]], dtype=np.float64))
np.save(OUT + "int32_labels.npy", np.array([2, 0, 1], dtype=np.int32))
np.save(OUT + "uint8_3d.npy", np.arange(24, dtype=np.uint8).reshape(4, 3, 2))
np.save(OUT + "fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save(OUT + "float16.npy", np.array([1, 2], dtype=np.float16))
with open(OUT + "v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([[1, -2], [3, 4]], dtype=np.int64), version=(2, 0))
with open(OUT + "v3.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([0.25, 0.5], dtype=np.float32), version=(3, 0))
np.save(OUT + "scalar.npy", np.float32(7.5))
np.save(OUT + "bigendian.npy", np.array([1.0, 2.5], dtype=">f4"))

# What WriteNpy must produce byte for byte (numpy's own np.save output).
np.save(OUT + "expected_write_f32.npy", (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3))
np.save(OUT + "expected_write_i64.npy", np.array([-1, 0, 5, 7], dtype=np.int64))

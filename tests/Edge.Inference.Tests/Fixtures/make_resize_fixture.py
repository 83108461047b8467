"""Writes preprocess-nonsquare.csv: the training recipe's preprocessing of a synthetic 300 x 181 image.

The committed reference scores cover only 128 x 128 PNGs, where the resize is the identity; this fixture pins the
C# area resize and equalisation to the Python reference for a non-square, non-integer scale factor too.
Run from the repository root: /usr/bin/python3 tests/Edge.Inference.Tests/Fixtures/make_resize_fixture.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join("models", "tb-cxr", "train"))
import preprocess  # noqa: E402

height, width = 181, 300
rows, cols = np.mgrid[0:height, 0:width]
# The same formula is evaluated in the C# test; integer-valued, 12-bit, with structure at several scales.
image = ((rows * 7919 + cols * 104729) % 4096 + 3 * rows + 2 * cols).astype(np.float64)
tensor = preprocess.preprocess(image).reshape(-1)
out = os.path.join(os.path.dirname(__file__), "preprocess-nonsquare.csv")
with open(out, "w") as f:
    f.write("\n".join(f"{v:.6f}" for v in tensor) + "\n")
print(f"wrote {out}: {tensor.size} values")

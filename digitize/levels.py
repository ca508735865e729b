"""Grey levels of a scanned page: paper, ink, noise and how much of the page is inked."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["GreyLevels", "estimate_noise", "grey_levels", "otsu_threshold"]

_CELL = 8
"""Side in pixels (at the measuring resolution) of the cells counted as inked or not."""

_CELL_INK = 6
"""Ink pixels that make a cell count as inked (dust specks stay below)."""


@dataclass(frozen=True)
class GreyLevels:
    paper: float
    """Grey level of the paper (the page's 90th percentile)."""

    ink: float
    """Grey level of the ink (10th percentile of the pixels counted as ink), or the paper's."""

    threshold: float
    """Grey level below which a pixel counts as ink."""

    noise: float
    """Estimated noise of the image, in grey levels (standard deviation)."""

    ink_share: float
    """Share of pixels counted as ink."""

    inked_cells: int
    """Cells of 8 × 8 pixels holding at least a few ink pixels."""

    @property
    def contrast(self) -> float:
        """Grey levels between ink and paper."""
        return self.paper - self.ink


def otsu_threshold(pixels: npt.NDArray[np.uint8]) -> int:
    """Otsu's threshold of grey pixels: the level that best splits them into two classes."""
    histogram = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    share = histogram / max(1.0, float(histogram.sum()))
    omega = np.cumsum(share)
    mu = np.cumsum(share * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1.0 - omega))
    finite = np.where(np.isfinite(between), between, -1.0)
    return int(np.argmax(finite)) if finite.max() > 0 else 128


def estimate_noise(pixels: npt.NDArray[np.uint8]) -> float:
    """Noise of a grey image, in grey levels, from the differences of neighbouring pixels.

    The median absolute difference is dominated by the plain paper, not by the few
    edges of the text; every fourth row is enough.
    """
    rows = pixels[::4]
    if rows.shape[1] < 2:
        return 0.0
    left, right = rows[:, :-1], rows[:, 1:]
    differences = np.maximum(left, right) - np.minimum(left, right)
    # The median from the differences' histogram (they are 0 … 255): the same value as
    # np.median, without sorting millions of them.
    counts = np.cumsum(Image.fromarray(np.ascontiguousarray(differences)).histogram())
    size = differences.size
    lower = int(np.searchsorted(counts, (size - 1) // 2 + 1))
    upper = int(np.searchsorted(counts, size // 2 + 1))
    # For Gaussian noise of deviation s, neighbour differences have deviation s·√2 and a
    # median absolute value of 0.6745·s·√2.
    return (lower + upper) / 2 / (0.6745 * math.sqrt(2.0))


def grey_levels(pixels: npt.NDArray[np.uint8]) -> GreyLevels:
    """Paper, ink and noise levels of a downscaled grey page, and how much of it is inked.

    Paper is the 90th percentile; a pixel is ink when it is darker than Otsu's
    threshold and than the paper by five times the noise (at least 10 levels). The
    ink level is the 10th percentile of the ink in inked cells (writing), so that
    isolated specks of dust do not stand for the text.
    """
    histogram = np.bincount(pixels.ravel(), minlength=256)
    cumulative = np.cumsum(histogram) / max(1, pixels.size)
    paper = float(np.searchsorted(cumulative, 0.90))
    noise = estimate_noise(pixels)
    threshold = min(paper - max(10.0, 5.0 * noise), float(otsu_threshold(pixels)))
    ink_mask = pixels < threshold
    ink_count = int(ink_mask.sum())
    height, width = pixels.shape
    rows, cols = height // _CELL, width // _CELL
    cropped = ink_mask[: rows * _CELL, : cols * _CELL]
    inked_cells = cropped.reshape(rows, _CELL, cols, _CELL).sum(axis=(1, 3)) >= _CELL_INK
    inked = int(inked_cells.sum())
    # The ink level is read where there is writing: specks of dust, darker than faint
    # print, would otherwise make faint text look contrasted enough to read.
    in_writing = cropped & np.repeat(np.repeat(inked_cells, _CELL, axis=0), _CELL, axis=1)
    written = pixels[: rows * _CELL, : cols * _CELL][in_writing]
    if written.size:
        ink = float(np.percentile(written, 10))
    else:
        ink = float(np.percentile(pixels[ink_mask], 10)) if ink_count else paper
    return GreyLevels(
        paper=paper,
        ink=ink,
        threshold=threshold,
        noise=noise,
        ink_share=ink_count / max(1, pixels.size),
        inked_cells=inked,
    )

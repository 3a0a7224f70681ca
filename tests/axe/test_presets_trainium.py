"""Trainium SBUF/PSUM presets against their definitions, element by element."""

from __future__ import annotations

import pytest

import axe
from axe.presets import trainium


@pytest.mark.parametrize("rows,cols", [(1, 1), (64, 32), (128, 512), (256, 8), (384, 3)])
def test_sbuf_places_rows_on_partitions(rows, cols):
    L = trainium.sbuf((rows, cols))
    cells = set()
    for r in range(rows):
        for c in range(cols):
            (pt,) = L.apply(r, c, shape=(rows, cols))
            # row r on partition r % 128; blocks of 128 rows side by side along the free dim
            assert (pt["P"], pt["F"]) == (r % 128, (r // 128) * cols + c)
            cells.add((pt["P"], pt["F"]))
    assert len(cells) == rows * cols and max(p for p, _ in cells) < 128


@pytest.mark.parametrize("rows,cols,nbytes", [(128, 512, 4), (16, 1024, 2), (1, 1, 4)])
def test_psum_tile(rows, cols, nbytes):
    L = trainium.psum((rows, cols), nbytes)
    for r in range(0, rows, 7):
        for c in range(0, cols, 13):
            assert L.apply(r, c, shape=(rows, cols)) == {axe.Coord(P=r, F=c)}


def test_matmul_contracts_over_partitions():
    ops = trainium.matmul(96, 128, 256)
    assert ops["stationary"].apply(5, 7, shape=(128, 96)) == {axe.Coord(P=5, F=7)}  # (k, m): k on P
    assert ops["moving"].apply(5, 200, shape=(128, 256)) == {axe.Coord(P=5, F=200)}
    assert ops["out"].apply(95, 255, shape=(96, 256)) == {axe.Coord(P=95, F=255)}


@pytest.mark.parametrize("bad,culprit", [
    (lambda: trainium.sbuf((200, 4)), "200 rows"),
    (lambda: trainium.sbuf(5), "shape"),
    (lambda: trainium.sbuf((4, 0)), "positive"),
    (lambda: trainium.psum((129, 4)), "129 rows"),
    (lambda: trainium.psum((128, 1024)), "1024 columns"),
    (lambda: trainium.matmul(256, 128, 128), "M"),
    (lambda: trainium.matmul(128, 129, 128), "K"),
    (lambda: trainium.matmul(128, 128, 513), "N"),
])
def test_errors(bad, culprit):
    with pytest.raises(axe.AxeError, match=culprit):
        bad()

"""Figures of a data set alone are drawn once, kept on disk, and redrawn when damaged."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tracking import plots
from tracking.figure_cache import cached_png, figure_key


def _png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_drawn_once_then_read_from_disk(tmp_path):
    calls = []

    def draw():
        calls.append(1)
        return _png("red")

    key = figure_key("heatmap", b"\x00\x01")
    first = cached_png(tmp_path, key, draw)
    second = cached_png(tmp_path, key, draw)
    assert first == second == (tmp_path / f"{key}.png").read_bytes()
    assert len(calls) == 1
    assert Image.open(io.BytesIO(second)).getpixel((0, 0)) == (255, 0, 0)
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.png"]  # no temporary left


def test_damaged_file_is_redrawn(tmp_path):
    key = figure_key("heatmap")
    (tmp_path / f"{key}.png").write_bytes(_png("red")[:-20])  # cut short, as by a full disk
    png = cached_png(tmp_path, key, lambda: _png("blue"))
    assert Image.open(io.BytesIO(png)).getpixel((0, 0)) == (0, 0, 255)
    assert (tmp_path / f"{key}.png").read_bytes() == png


def test_key_changes_with_inputs_and_part_boundaries():
    assert figure_key("a", "bc") != figure_key("ab", "c")
    assert figure_key("a", b"1") != figure_key("a", b"2")
    assert figure_key("a", "b") == figure_key("a", b"b")


def test_unwritable_folder_still_returns_the_figure(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="could not keep a figure"):
        png = cached_png(blocker / "figures", figure_key("x"), lambda: _png("red"))
    assert png.startswith(b"\x89PNG")


def test_plots_module_is_part_of_the_key(monkeypatch, tmp_path):
    before = figure_key("heatmap")
    changed = tmp_path / "plots.py"
    changed.write_bytes(open(plots.__file__, "rb").read() + b"\n# changed\n")
    monkeypatch.setattr("tracking.figure_cache._PLOTS_SOURCE", changed)
    assert figure_key("heatmap") != before

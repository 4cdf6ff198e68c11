"""World map: fixed probability bands, correct shapes, and nothing dropped silently."""

from __future__ import annotations

import html
import re

import pytest
from PIL import Image

from tracking.worldmap import BANDS, band_of, rise_probability_map


@pytest.mark.parametrize("p, band", [(0.0, 0), (0.09, 0), (0.1, 1), (0.5, 2), (0.50001, 3),
                                     (0.7, 4), (0.9, 5), (1.0, 5)])
def test_bands_have_fixed_edges(p, band):
    assert band_of(p) == band


def test_each_country_is_drawn_in_its_own_band_and_the_rest_are_listed(tmp_path):
    names = ["Congo (Brazzaville)", "Congo (Kinshasa)", "Dominican Republic", "Sudan",
             "Diamond Princess", "Qatar"]
    codes = ["cg", "cd", "do", "sd", None, "qa"]
    probs = [0.05, 0.95, 0.55, 0.35, 0.8, 0.2]
    rendered = rise_probability_map(names, codes, probs, title="test")
    svg = html.unescape(rendered.svg.decode())
    assert rendered.drawn == 4
    # the legend counts one country per band used, in the band order of BANDS
    for (_, _, legend, _), count in zip(BANDS, [1, 0, 1, 1, 0, 1]):
        assert f"{legend} ({count})" in svg
    # each code's shape carries the series (band) index it was put in
    for code, band in (("cg", 0), ("cd", 5), ("do", 3), ("sd", 2)):
        assert re.search(rf'class="{code} country map-element[^"]*serie-{band}\b', svg), code
    assert "Congo (Kinshasa): p(rise) = 0.95" in svg
    text = rendered.unmapped_text()
    assert "Diamond Princess (no ISO code), p(rise) = 0.80" in text
    assert "Qatar ('qa' not on pygal's map), p(rise) = 0.20" in text
    png = tmp_path / "map.png"
    png.write_bytes(rendered.png)
    with Image.open(png) as image:
        assert image.size == (1100, 640)

"""World map of each country's predicted probability of a rise tomorrow (pygal).

pygal shades a series relative to its own min and max, so fixed probability bands are
drawn as separate series with one constant value each; the exact probability goes in the
tooltip. Countries without a drawable code are listed, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cairosvg
from pygal.style import Style
from pygal_maps_world.i18n import COUNTRIES as PYGAL_COUNTRIES
from pygal_maps_world.maps import World

# (lower edge inclusive, upper edge exclusive, legend, colour); 1.0 belongs to the last band.
BANDS = (
    (0.0, 0.1, "falls, p(rise) < 0.1", "#08519c"),
    (0.1, 0.3, "falls, 0.1 - 0.3", "#4292c6"),
    (0.3, 0.5, "falls, 0.3 - 0.5", "#9ecae1"),
    (0.5, 0.7, "rises, 0.5 - 0.7", "#fcae91"),
    (0.7, 0.9, "rises, 0.7 - 0.9", "#fb6a4a"),
    (0.9, 1.0001, "rises, p(rise) >= 0.9", "#a50f15"),
)


def band_of(p: float) -> int:
    """Index of the band holding ``p``; p = 0.5 exactly counts as a fall (argmax rule)."""
    if p == 0.5:
        return 2
    for i, (low, high, _, _) in enumerate(BANDS):
        if low <= p < high:
            return i
    raise ValueError(f"probability {p} outside [0, 1]")


@dataclass
class RenderedMap:
    svg: bytes
    png: bytes
    drawn: int
    unmapped: list[str] = field(default_factory=list)  # names that could not be drawn

    def unmapped_text(self) -> str:
        lines = [f"{len(self.unmapped)} countries could not be drawn on the map "
                 "(no ISO code, or the code has no shape in pygal_maps_world):"]
        lines += [f"- {line}" for line in self.unmapped]
        return "\n".join(lines) + "\n"


def rise_probability_map(names: list[str], iso2: list[str | None], p_rise,
                         title: str) -> RenderedMap:
    style = Style(colors=tuple(colour for *_, colour in BANDS), background="white",
                  plot_background="white", legend_font_size=13, title_font_size=15)
    chart = World(style=style, title=title, legend_at_bottom=True, legend_at_bottom_columns=3,
                  width=1100, height=640)
    series: list[list[tuple[str, int]]] = [[] for _ in BANDS]
    tooltip: dict[str, str] = {}
    unmapped: list[str] = []
    for name, code, p in zip(names, iso2, p_rise):
        p = float(p)
        if not code or code not in PYGAL_COUNTRIES:
            reason = "no ISO code" if not code else f"'{code}' not on pygal's map"
            unmapped.append(f"{name} ({reason}), p(rise) = {p:.2f}")
            continue
        band = band_of(p)
        series[band].append((code, band + 1))
        tooltip[code] = f"{name}: p(rise) = {p:.2f}"
    for (_, _, legend, _), values in zip(BANDS, series):
        chart.add(f"{legend} ({len(values)})", values,
                  formatter=lambda value: tooltip[value[0]])
    if unmapped:
        chart.title = (f"{title}\n{len(unmapped)} countries without a map shape are listed "
                       "in world_map_unmapped.txt")
    svg = chart.render()
    png = cairosvg.svg2png(bytestring=svg)
    drawn = sum(len(v) for v in series)
    return RenderedMap(svg=svg, png=png, drawn=drawn, unmapped=unmapped)


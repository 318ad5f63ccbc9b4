"""A distinct colour for every code (pure). A code keeps its codebook colour unless another code
has the same one or one too alike to tell apart (sub-codes inherit their theme's colour on
import; a codebook may give siblings three purples); such codes get shades of it, turned a little round the colour wheel and lighter or darker in turn,
so a sub-code stays recognisably in its theme's family and still differs from its siblings."""

from __future__ import annotations

import colorsys

from .spec import PALETTE


def _rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def shade(colour: str, step: int) -> str:
    """The `step`-th variant of `colour` (0 is the colour itself)."""
    if step == 0:
        return _hex(_rgb(colour))
    hue, lightness, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    turn = ((step + 1) // 2) * (1 if step % 2 else -1)
    hue = (hue + 0.08 * turn) % 1.0
    lightness = min(0.75, max(0.22, lightness + (0.12 if step % 2 else -0.1) * ((step + 1) // 2 % 3 or 1)))
    return _hex(colorsys.hls_to_rgb(hue, lightness, saturation))


def _close(a: str, b: str) -> bool:
    """Too alike to tell apart as two underlines or stripes side by side (#8e24aa and #7b1fa2)."""
    return sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b))) ** 0.5 < 0.16


def distinct_colours(codes: list[tuple[str, str | None]]) -> dict[str, str]:
    """`(path, colour)` → a colour per path, no two alike where avoidable. The result does not
    depend on the order given (paths are taken in sorted order: a theme before its sub-codes), so
    every page that shows a code shows it in the same colour."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    seen: dict[str, int] = {}
    for number, (path, colour) in enumerate(sorted(codes, key=lambda c: c[0])):
        base = _hex(_rgb(colour)) if colour else PALETTE[number % len(PALETTE)]
        step = seen.get(base, 0)
        candidate = shade(base, step)
        while any(_close(candidate, other) for other in taken) and step < 40:
            step += 1
            candidate = shade(base, step)
        seen[base] = step + 1
        taken.add(candidate)
        out[path] = candidate
    return out

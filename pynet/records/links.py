"""Link shaping settings (``pynet link set``, compose's ``x-pynet-link``): parsing, no I/O.

A ``LinkShape`` is what one endpoint's link should do: a rate (both directions), a loss
share, and the netem impairments (delay, jitter, duplicate, corrupt). Values are parsed
once here, in tc's notation (``10mbit``, ``50ms``, ``1%``); a bad value is one
InvalidArgument line naming the setting. See docs/topologies.md, "Link shaping".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

#: every setting, in the order ``link show`` prints them
SETTINGS = ("rate", "delay", "jitter", "loss", "duplicate", "corrupt")
#: the settings only the kernel's netem qdisc implements
NETEM_SETTINGS = ("delay", "jitter", "duplicate", "corrupt")

_RATE_UNITS = {
    "bit": 1,
    "kbit": 1000,
    "mbit": 1000**2,
    "gbit": 1000**3,
    "kibit": 1024,
    "mibit": 1024**2,
    "gibit": 1024**3,
    "bps": 8,
    "kbps": 8000,
    "mbps": 8 * 1000**2,
    "gbps": 8 * 1000**3,
}
_TIME_UNITS = {"us": 1, "usec": 1, "ms": 1000, "msec": 1000, "s": 1000**2, "sec": 1000**2}
_NUMBER = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z%]*)\s*$"  # compiled on use: every mutating command imports this
MAX_RATE = 32 * 1000**3  # tc's 32-bit rate field counts bytes per second
MIN_RATE = 1000  # below ~500bit the kernel refuses TBF's bucket (its time in ticks overflows 32 bits)
MAX_TIME_US = 60 * 1000**2


@dataclass(frozen=True)
class LinkShape:
    """What one endpoint's link does; zero means "not shaped" for each setting.

    ``rate_bps`` applies in both directions; ``loss`` (percent) drops that share of the
    packets the container receives; ``delay_us``/``jitter_us``/``duplicate``/``corrupt``
    (percent) act on what it sends (netem), so a round trip counts each once.
    """

    rate_bps: int = 0
    delay_us: int = 0
    jitter_us: int = 0
    loss: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0

    def is_empty(self) -> bool:
        return not any((self.rate_bps, self.delay_us, self.jitter_us, self.loss, self.duplicate, self.corrupt))

    def needs_netem(self) -> bool:
        return bool(self.delay_us or self.jitter_us or self.duplicate or self.corrupt)

    def netem_settings(self) -> list[str]:
        """The settings of this shape that need netem (names as the user types them)."""
        return [name for name in NETEM_SETTINGS if self.to_text().get(name)]

    def to_text(self) -> dict[str, str]:
        """The set settings in tc's notation, e.g. ``{"rate": "10mbit", "loss": "10%"}``."""
        out = {
            "rate": format_rate(self.rate_bps) if self.rate_bps else "",
            "delay": format_time(self.delay_us) if self.delay_us else "",
            "jitter": format_time(self.jitter_us) if self.jitter_us else "",
            "loss": format_percent(self.loss) if self.loss else "",
            "duplicate": format_percent(self.duplicate) if self.duplicate else "",
            "corrupt": format_percent(self.corrupt) if self.corrupt else "",
        }
        return {k: v for k, v in out.items() if v}

    def merged(self, other: LinkShape) -> LinkShape:
        """This shape with every setting ``other`` sets replaced (``link set`` is additive)."""
        mine, theirs = self.to_text(), other.to_text()
        return parse_link_shape({**mine, **theirs})


def parse_link_shape(settings: dict[str, Any], *, partial: bool = False) -> LinkShape:
    """A LinkShape from ``{"rate": "10mbit", "loss": "1%", ...}`` (compose's mapping, the
    flags of ``link set``, a stored endpoint); None or "" values are "not set".

    Raises InvalidArgument (one line naming the setting) for an unknown key or a bad value.
    ``partial``: a change to merge into a stored shape (jitter may come without a delay;
    :meth:`LinkShape.merged` checks the result).
    """
    unknown = sorted(k for k in settings if k not in SETTINGS)
    if unknown:
        raise InvalidArgument(f"unknown link setting {unknown[0]!r} (known: {', '.join(SETTINGS)})")
    given = {k: v for k, v in settings.items() if v is not None and str(v).strip() != ""}
    shape = LinkShape(
        rate_bps=parse_rate(given["rate"]) if "rate" in given else 0,
        delay_us=parse_time("delay", given["delay"]) if "delay" in given else 0,
        jitter_us=parse_time("jitter", given["jitter"]) if "jitter" in given else 0,
        loss=parse_percent("loss", given["loss"]) if "loss" in given else 0.0,
        duplicate=parse_percent("duplicate", given["duplicate"]) if "duplicate" in given else 0.0,
        corrupt=parse_percent("corrupt", given["corrupt"]) if "corrupt" in given else 0.0,
    )
    if shape.jitter_us and not shape.delay_us and not partial:
        raise InvalidArgument("invalid link setting: jitter needs a delay (e.g. --delay 50ms --jitter 5ms)")
    return shape


def _split(name: str, value: Any, example: str) -> tuple[float, str]:
    match = re.match(_NUMBER, str(value).lower())
    if match is None:
        raise InvalidArgument(f"invalid {name} {str(value)!r}: expected a value like {example}")
    return float(match.group(1)), match.group(2)


def parse_rate(value: Any) -> int:
    """Bits per second from tc's notation: ``10mbit``, ``512kbit``, ``1gbit``, ``2mbps``."""
    number, unit = _split("rate", value, "10mbit")
    if unit not in _RATE_UNITS:
        raise InvalidArgument(
            f"invalid rate {str(value)!r}: expected a value like 10mbit (units: bit, kbit, mbit, gbit, bps, kbps, mbps, gbps)"
        )
    bps = int(round(number * _RATE_UNITS[unit]))
    if not MIN_RATE <= bps <= MAX_RATE:
        raise InvalidArgument(f"invalid rate {str(value)!r}: must be between 1kbit and 32gbit")
    return bps


def parse_time(name: str, value: Any) -> int:
    """Microseconds from ``50ms``, ``1s``, ``250us`` (a unit is required)."""
    number, unit = _split(name, value, "50ms")
    if unit not in _TIME_UNITS:
        raise InvalidArgument(f"invalid {name} {str(value)!r}: expected a duration with a unit, like 50ms (us, ms, s)")
    micro = int(round(number * _TIME_UNITS[unit]))
    if micro > MAX_TIME_US:
        raise InvalidArgument(f"invalid {name} {str(value)!r}: at most 60s")
    return micro


def parse_percent(name: str, value: Any) -> float:
    """A percentage from ``10%``, ``0.5%`` or ``10``: 0 to 100."""
    number, unit = _split(name, value, "10%")
    if unit not in ("", "%") or number > 100:
        raise InvalidArgument(f"invalid {name} {str(value)!r}: expected a percentage from 0% to 100%, like 10%")
    return number


def format_rate(bps: int) -> str:
    for unit, size in (("gbit", 1000**3), ("mbit", 1000**2), ("kbit", 1000)):
        if bps >= size and bps % (size // 1000 or 1) == 0:
            return f"{_trim(bps / size)}{unit}"
    return f"{bps}bit"


def format_time(micro: int) -> str:
    if micro >= 1000**2 and micro % 1000 == 0:
        return f"{_trim(micro / 1000**2)}s"
    if micro >= 1000:
        return f"{_trim(micro / 1000)}ms"
    return f"{micro}us"


def format_percent(value: float) -> str:
    return f"{_trim(value)}%"


def _trim(number: float) -> str:
    return f"{number:.3f}".rstrip("0").rstrip(".")

"""Checks of flag values that Docker refuses before any work (its wording, one line each),
shared by the CLI's flags and the Engine API's fields.

Run before the controller is built, so a bad value costs no lock, no state and no kernel
object. ``ipaddress`` is imported only when a value is given (it costs ~2 ms).
"""

from __future__ import annotations

from pynet.errors import InvalidArgument

_HEX = "0123456789abcdefABCDEF"


def is_ip(value: str, version: int | None = None) -> bool:
    """True for an IP address literal (of ``version`` 4 or 6 when given)."""
    import ipaddress

    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or addr.version == version


def endpoint_address(value: str, version: int) -> None:
    """``run --ip/--ip6``: the daemon's ``invalid IPv4 address: <value>`` (exit 125)."""
    if not value:
        return
    if not is_ip(value, version) or value in ("0.0.0.0", "::"):
        raise InvalidArgument(f"invalid IPv{version} address: {value}")


def dns_servers(values: tuple[str, ...] | list[str]) -> None:
    """``--dns``: each value an IP address, as Docker's ``opts.ValidateIPAddress``."""
    for value in values:
        if not is_ip(value.strip()):
            raise InvalidArgument(
                f'invalid argument "{value}" for "--dns" flag: IP address is not correctly formatted: {value}',
                from_daemon=False,
            )


def mac_address(value: str) -> str:
    """``--mac-address``: six hex octets joined by ``:`` or ``-`` (Docker: ``net.ParseMAC``),
    returned in the kernel's form (``02:42:ac:11:00:02``)."""
    if not value:
        return ""
    octets = value.replace("-", ":").split(":")
    if len(octets) != 6 or any(len(o) != 2 or o[0] not in _HEX or o[1] not in _HEX for o in octets):
        raise InvalidArgument(f"{value} is not a valid mac address", from_daemon=False)
    return ":".join(octets).lower()


def extra_host(item: str) -> str:
    """``--add-host name:ip`` as ``name:ip`` (Docker's ``opts.ValidateExtraHost`` errors)."""
    name, sep, ip = item.partition(":")
    if not sep or not name or not ip:
        raise InvalidArgument(
            f'invalid argument "{item}" for "--add-host" flag: bad format for add-host: "{item}"', from_daemon=False
        )
    bare = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
    if not is_ip(bare):
        raise InvalidArgument(
            f'invalid argument "{item}" for "--add-host" flag: invalid IP address in add-host: "{ip}"',
            from_daemon=False,
        )
    return f"{name}:{bare}"


def tail_lines(tail: str) -> int | None:
    """``--tail``/``tail``: "all" (None) or a count, refused as Docker's daemon refuses it."""
    if tail == "all":
        return None
    digits = tail[1:] if tail[:1] in "+-" else tail
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidArgument(f'invalid value for "tail": "{tail}": strconv.Atoi: parsing "{tail}": invalid syntax')
    return int(tail)

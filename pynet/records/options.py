"""Well-known option and label keys (Docker's strings, so scripts carry over), and the
one reading of each kind of option value (boolean, integer, MTU, IP, bridge device)."""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.records.model import Network

BRIDGE_NAME = "com.docker.network.bridge.name"
BRIDGE_ENABLE_ICC = "com.docker.network.bridge.enable_icc"
BRIDGE_ENABLE_IP_MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
BRIDGE_HOST_BINDING_IPV4 = "com.docker.network.bridge.host_binding_ipv4"
BRIDGE_DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge"
DRIVER_MTU = "com.docker.network.driver.mtu"

MACVLAN_PARENT = "parent"
MACVLAN_MODE = "macvlan_mode"

BOOL_OPTIONS = (BRIDGE_ENABLE_ICC, BRIDGE_ENABLE_IP_MASQUERADE, BRIDGE_DEFAULT_BRIDGE)

#: Linux bridges hold at most this many ports (port numbers are 10 bits, 0 reserved).
BRIDGE_MAX_PORTS = 1023
#: Interface names are at most IFNAMSIZ - 1 bytes.
IFNAME_MAX = 15


#: the words Go's ``strconv.ParseBool`` accepts (Docker parses boolean options with it)
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(value: str) -> bool | None:
    """Go's ``strconv.ParseBool``: True or False, or None for a value it refuses."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def check_bool_option(key: str, value: str) -> None:
    """A boolean driver option (``-o key=value``), refused unless ParseBool reads it, in
    libnetwork's words (``parseErr`` of the bridge driver, as for the MTU)."""
    if parse_bool(value) is None:
        from pynet.errors import InvalidArgument

        raise InvalidArgument(
            f'failed to parse {key} value: {value} (strconv.ParseBool: parsing "{value}": invalid syntax)'
        )


def bool_option(options: dict[str, str], key: str, default: bool = True) -> bool:
    """A boolean option of a stored record; ``default`` when unset.

    Records written before pynet followed ParseBool exactly were checked without case
    or surrounding spaces: they are read as they were then (never flipped to ``default``).
    """
    value = options.get(key) or ""
    if not value:
        return default
    parsed = parse_bool(value)
    if parsed is None:
        parsed = parse_bool(value.strip().lower())
    return default if parsed is None else parsed


def parse_mtu(value: str) -> int:
    """The ``com.docker.network.driver.mtu`` option: Atoi's number, 68..65535."""
    mtu = parse_int_option(DRIVER_MTU, value)
    if not 68 <= mtu <= 65535:
        from pynet.errors import InvalidArgument

        raise InvalidArgument(f"invalid MTU number: {mtu}")
    return mtu


def default_bridge_device(net_id: str) -> str:
    """The Linux bridge pynet names for a network (Docker's ``br-<id12>``)."""
    return f"br-{net_id[:12]}"


def bridge_device(net: Network) -> str:
    """The Linux bridge of ``net``: the one recorded at create (any driver's), else the
    ``bridge.name`` option, else the default name."""
    return str(net.driver_data.get("bridge") or net.options.get(BRIDGE_NAME) or default_bridge_device(net.id))


def parse_int_option(key: str, value: str) -> int:
    """An integer driver option (``-o key=value``) read as Go's ``strconv.Atoi`` reads it.

    A value Atoi refuses is libnetwork's error: ``failed to parse <key> value: <value>
    (strconv.Atoi: parsing "<value>": invalid syntax)``. Python's ``int`` alone would accept
    " 9000 ", "9_000" and non-ASCII digits, which Docker refuses.
    """
    digits = value[1:] if value[:1] in "+-" else value
    if not digits or not digits.isascii() or not digits.isdigit():
        from pynet.errors import InvalidArgument

        raise InvalidArgument(f'failed to parse {key} value: {value} (strconv.Atoi: parsing "{value}": invalid syntax)')
    return int(value)


def check_ip_option(key: str, value: str) -> None:
    """An IP address driver option, refused as libnetwork refuses it (``... (nil ip)``)."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        from pynet.errors import InvalidArgument

        raise InvalidArgument(f"failed to parse {key} value: {value} (nil ip)") from None

"""Well-known option and label keys (Docker's strings, so scripts carry over)."""

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


def is_true(value: str | None, default: bool = True) -> bool:
    """Docker's ParseBool on an option value ('1', 't', 'true', 'TRUE'...)."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "t", "true", "yes", "on")


def parse_int_option(key: str, value: str) -> int:
    """An integer driver option (``-o key=value``) read as Go's ``strconv.Atoi`` reads it.

    A value Atoi refuses is libnetwork's error: ``failed to parse <key> value: <value>
    (strconv.Atoi: parsing "<value>": invalid syntax)``. Python's ``int`` alone would accept
    " 9000 ", "9_000" and non-ASCII digits, which Docker refuses.
    """
    digits = value[1:] if value[:1] in "+-" else value
    if not digits or not digits.isascii() or not digits.isdigit():
        from pynet.errors import InvalidArgument

        raise InvalidArgument(
            f'failed to parse {key} value: {value} (strconv.Atoi: parsing "{value}": invalid syntax)')
    return int(value)


def check_ip_option(key: str, value: str) -> None:
    """An IP address driver option, refused as libnetwork refuses it (``... (nil ip)``)."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        from pynet.errors import InvalidArgument

        raise InvalidArgument(f"failed to parse {key} value: {value} (nil ip)") from None

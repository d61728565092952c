"""Published and exposed ports: Docker's ``-p``/``--expose``/``-P`` specs and views (pure).

Parsing follows Docker 20.10's CLI (go-connections ``nat.ParsePortSpec``) and keeps its
error messages. A binding with ``host_port == 0`` asks for a free host port; a host
port range with a single container port (``-p 8000-8010:80``) asks for a free port in
that range: ``host_port`` is the start and ``host_port_end`` the end (an attribute the
firewall reads with ``getattr``, so it also works before the model grows the field).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.records.model import Container, PortBinding
from pynet.errors import Conflict, InvalidArgument, NotFound

PROTOCOLS = ("tcp", "udp", "sctp")
_ACTIVE = ("running", "paused", "restarting")


def _bad(message: str) -> InvalidArgument:
    # Docker's CLI reports these itself (``docker: <msg>.``), not the daemon.
    return InvalidArgument(message, from_daemon=False)


def _parse_uint16(text: str) -> int:
    """strconv.ParseUint(text, 10, 16) with Go's error wording."""
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    value = int(text)
    if value > 65535:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return value


def parse_port_range(ports: str) -> tuple[int, int]:
    """nat.ParsePortRange: '80' -> (80, 80), '8000-8010' -> (8000, 8010). Raises ValueError."""
    if not ports:
        raise ValueError("Empty string specified for ports.")
    if "-" not in ports:
        value = _parse_uint16(ports)
        return value, value
    parts = ports.split("-")
    start, end = _parse_uint16(parts[0]), _parse_uint16(parts[1])
    if end < start:
        raise ValueError(f"Invalid range specified for the Port: {ports}")
    return start, end


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_proto(raw: str) -> tuple[str, str]:
    """nat.SplitProtoPort: '80/udp' -> ('udp', '80'); '80' -> ('tcp', '80')."""
    parts = raw.split("/")
    if not raw or not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _host_ip(raw_ip: str) -> str:
    ip = raw_ip
    if ip.startswith("["):
        if not ip.endswith("]") or ip.count("[") != 1:
            raise _bad(f"Invalid ip address {raw_ip}: address {raw_ip}:: missing port in address")
        ip = ip[1:-1]
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise _bad(f"Invalid ip address: {ip}") from None
    return ip


def _long_syntax(spec: str) -> str:
    """``published=8080,target=80,protocol=udp,mode=host`` -> '8080:80/udp'."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if key not in ("target", "published", "protocol", "mode"):
            raise _bad(f"invalid field key {key}")
        fields[key] = value.strip()
    if not fields.get("target"):
        raise _bad('missing mandatory field "target"')
    if fields.get("mode", "host") not in ("host", "ingress"):
        raise _bad(f"invalid publish mode value ({fields['mode']}); must be either 'ingress' or 'host'")
    published = fields.get("published", "")
    proto = fields.get("protocol", "tcp")
    return f"{published}:{fields['target']}/{proto}" if published else f"{fields['target']}/{proto}"


def parse_publish_spec(raw: str) -> list[PortBinding]:
    """One ``-p`` value -> its bindings (nat.ParsePortSpec)."""
    spec = _long_syntax(raw) if "=" in raw else raw
    raw_ip, host_port, container_port = _split_parts(spec)
    proto, container_port = _split_proto(container_port)
    ip = _host_ip(raw_ip)
    if not container_port:
        raise _bad(f"No port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container_port)
    except ValueError:
        raise _bad(f"Invalid containerPort: {container_port}") from None
    hstart = hend = 0
    if host_port:
        try:
            hstart, hend = parse_port_range(host_port)
        except ValueError:
            raise _bad(f"Invalid hostPort: {host_port}") from None
        if end - start != hend - hstart and end != start:
            raise _bad(f"Invalid ranges specified for container and host Ports: {container_port} and {host_port}")
    if proto.lower() not in PROTOCOLS:
        raise _bad(f"Invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        binding = PortBinding(
            container_port=start + i, proto=proto.lower(), host_ip=ip, host_port=hstart + i if host_port else 0
        )
        if start == end and hstart != hend:
            binding.host_port_end = hend  # type: ignore[attr-defined]
        out.append(binding)
    return out


def parse_publish(specs: list[str]) -> list[PortBinding]:
    """``-p`` values -> bindings, in order: '8080:80', '127.0.0.1:9090:90/udp', 'ip::80',
    '80', '8000-8010:80-90', '[::1]:8080:80', 'published=8080,target=80'."""
    return [b for spec in specs for b in parse_publish_spec(spec)]


def parse_expose(specs: list[str]) -> list[str]:
    """``--expose`` values -> '80/tcp' keys: '80', '80/udp', '8000-8002' (a range expands)."""
    out: list[str] = []
    for spec in specs:
        if ":" in spec:
            raise _bad(f"invalid port format for --expose: {spec}")
        proto, port = _split_proto(spec)
        try:
            start, end = parse_port_range(port)
        except ValueError as exc:
            raise _bad(f"invalid range format for --expose: {spec}, error: {exc}") from None
        if proto.lower() not in PROTOCOLS:
            raise _bad(f"Invalid proto: {proto}")
        for p in range(start, end + 1):
            key = f"{p}/{proto.lower()}"
            if key not in out:
                out.append(key)
    return out


def port_key(binding: PortBinding) -> str:
    """The container side of a binding as Docker names it: '80/tcp'."""
    return f"{binding.container_port}/{binding.proto}"


def exposed_keys(bindings: list[PortBinding], exposed: list[str]) -> list[str]:
    """Config.ExposedPorts: ``--expose`` keys plus the container side of every ``-p``."""
    keys = list(exposed)
    for b in bindings:
        if port_key(b) not in keys:
            keys.append(port_key(b))
    return keys


def publish_all(exposed: list[str]) -> list[PortBinding]:
    """``-P``: every exposed port to a free host port on all addresses."""
    out = []
    for key in exposed:
        port, _, proto = key.partition("/")
        out.append(PortBinding(container_port=int(port), proto=proto or "tcp"))
    return out


def host_ip_family(host_ip: str) -> int:
    """4 or 6 for a concrete address; 0 for '' (all addresses of both families)."""
    if not host_ip:
        return 0
    return ipaddress.ip_address(host_ip).version


def overlaps(ip_a: str, ip_b: str) -> bool:
    """Do two host addresses of bindings (or a binding and a listener) share traffic?

    '' means every address; '0.0.0.0' every IPv4 address; '::' every IPv6 address (and,
    for a listening socket, IPv4 too: a dual-stack socket).
    """
    if not ip_a or not ip_b or ip_a == ip_b:
        return True
    fam_a, fam_b = host_ip_family(ip_a), host_ip_family(ip_b)
    wild = {"0.0.0.0": 4, "::": 6}
    if ip_a in wild and wild[ip_a] == fam_b or ip_b in wild and wild[ip_b] == fam_a:
        return True
    return False


Taken = set[tuple[str, str, int]]  # (host ip, proto, port)


def _clash(ip: str, proto: str, port: int, taken: Taken) -> bool:
    return any(p == proto and n == port and overlaps(ip, i) for i, p, n in taken)


def already_allocated(host_ip: str, port: int) -> str:
    """Docker's portallocator message."""
    return f"Bind for {host_ip or '0.0.0.0'}:{port} failed: port is already allocated"


def allocate(
    bindings: list[PortBinding], in_use: Taken, listeners: Taken, ephemeral: tuple[int, int]
) -> list[PortBinding]:
    """Resolve host ports: keep fixed ones (Conflict when taken), pick the lowest free port
    of the binding's host range or of ``ephemeral`` for the others. ``in_use``: ports
    published already; ``listeners``: ports host processes hold."""
    taken = set(in_use)
    out = []
    for b in bindings:
        end = int(getattr(b, "host_port_end", 0) or 0)
        if b.host_port and end <= b.host_port:
            _check_fixed(b, taken, listeners)
            port = b.host_port
        else:
            lo, hi = (b.host_port, end) if b.host_port else ephemeral
            port = next(
                (
                    p
                    for p in range(lo, hi + 1)
                    if not _clash(b.host_ip, b.proto, p, taken) and not _clash(b.host_ip, b.proto, p, listeners)
                ),
                0,
            )
            if not port:
                raise Conflict("all ports are allocated")
        taken.add((b.host_ip, b.proto, port))
        out.append(replace(b, host_port=port))
    return out


def _check_fixed(b: PortBinding, taken: Taken, listeners: Taken) -> None:
    if _clash(b.host_ip, b.proto, b.host_port, taken):
        raise Conflict(already_allocated(b.host_ip, b.host_port))
    if _clash(b.host_ip, b.proto, b.host_port, listeners):
        fam = "6" if host_ip_family(b.host_ip) == 6 else "4"
        addr = join_host_port(b.host_ip or "0.0.0.0", str(b.host_port))
        raise Conflict(f"Error starting userland proxy: listen {b.proto}{fam} {addr}: bind: address already in use")


def _frontends(binding: PortBinding) -> list[dict[str, str]]:
    port = str(binding.host_port)
    if not binding.host_ip:
        # Docker 20.10 binds an unspecified host address on both families.
        return [{"HostIp": "0.0.0.0", "HostPort": port}, {"HostIp": "::", "HostPort": port}]
    return [{"HostIp": binding.host_ip, "HostPort": port}]


def ports_view(container: Container) -> dict[str, Any]:
    """NetworkSettings.Ports: {'80/tcp': [{'HostIp': '0.0.0.0', 'HostPort': '8080'}, ...],
    '443/tcp': None}; ``{}`` when the container is not running (as Docker)."""
    if container.status not in _ACTIVE:
        return {}
    view: dict[str, Any] = {key: None for key in container.exposed}
    for b in container.ports:
        if not b.host_port:
            continue
        view[port_key(b)] = (view.get(port_key(b)) or []) + _frontends(b)
    return {key: view[key] for key in sorted(view)}  # Go marshals map keys sorted


def join_host_port(host: str, port: str) -> str:
    """Go's net.JoinHostPort."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _natural_key(text: str) -> list[Any]:
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in re.findall(r"\d+|\D+", text)]


def port_lines(container: Container, private: str = "") -> list[str]:
    """``docker port`` output: '80/tcp -> 0.0.0.0:8080', naturally sorted.

    With ``private`` ('80' or '80/udp') only that port's 'host:port' lines; NotFound when
    it is not published (Docker's "No public port '80/tcp' published for c1").
    """
    view = ports_view(container)
    if private:
        port, _, proto = private.partition("/")
        try:
            _parse_uint16(port)
        except ValueError as exc:
            raise InvalidArgument(f"invalid port ({port}): {exc}", from_daemon=False, prefix="Error: ") from None
        frontends = view.get(f"{port}/{proto or 'tcp'}") or []
        if not frontends:
            raise NotFound(
                f"No public port '{private}' published for {container.name}", from_daemon=False, prefix="Error: "
            )
        lines = [join_host_port(f["HostIp"], f["HostPort"]) for f in frontends]
    else:
        lines = [
            f"{key} -> {join_host_port(f['HostIp'], f['HostPort'])}"
            for key, frontends in view.items()
            for f in (frontends or [])
        ]
    return sorted(lines, key=_natural_key)

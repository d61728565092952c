"""Docker-shaped views of the records (plain dicts; the CLI only serialises them).

Key order, nesting and types follow Docker 20.10's API objects, so ``pynet network
inspect`` and ``pynet inspect`` feed the same jq filters as ``docker ...``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from collections.abc import Callable

    from pynet.cnm.network_rows import NetworkRow, NetworkTable
    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, IPAMPool, Network

from pynet import paths
from pynet.records.fields import DEFAULT_NETWORK, ENDPOINTLESS_MODES
from pynet.ids import SHORT_LEN, short


def _pool_view(pool: IPAMPool, builtin: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"Subnet": pool.subnet}
    if pool.ip_range:
        out["IPRange"] = pool.ip_range
    if pool.gateway and pool.show_gateway:
        out["Gateway"] = pool.gateway
    if pool.aux_addresses:
        out["AuxiliaryAddresses"] = dict(pool.aux_addresses)
    return out


def network_inspect(net: Network, repo: Repo, *, containers: bool = True) -> dict[str, Any]:
    """``docker network inspect`` of one network (``containers=False``: ``Containers`` is
    left empty without reading the endpoints, as the API's network list shows it)."""
    members: dict[str, Any] = {}
    for ep in sorted(repo.network_endpoints(net.id) if containers else [], key=lambda e: e.container_id):
        members[ep.container_id] = {
            "Name": ep.name,
            "EndpointID": ep.id,
            "MacAddress": ep.mac,
            "IPv4Address": ep.ipv4,
            "IPv6Address": ep.ipv6,
        }
    return {
        "Name": net.name,
        "Id": net.id,
        "Created": net.created,
        "Scope": net.scope,
        "Driver": net.driver,
        "EnableIPv6": net.enable_ipv6,
        "IPAM": {
            "Driver": net.ipam_driver,
            "Options": None if net.ipam_options is None else dict(net.ipam_options),
            "Config": [_pool_view(p, net.builtin) for p in net.ipam_config],
        },
        "Internal": net.internal,
        "Attachable": net.attachable,
        "Ingress": net.ingress,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": members,
        "Options": dict(net.options),
        "Labels": dict(net.labels),
        **(
            {"Peers": [{"Name": p.get("Name", ""), "IP": p.get("IP", "")} for p in net.driver_data["peers"]]}
            if net.driver_data.get("peers")
            else {}
        ),
    }


def created_at(rfc3339: str) -> str:
    """Docker's ``CreatedAt`` column: ``2026-11-27 21:51:16.5966629 +0000 UTC``."""
    return rfc3339.replace("T", " ").rstrip("Z") + " +0000 UTC"


def network_ls_columns(table: NetworkTable) -> dict[str, Callable[[], list[str]]]:
    """What ``network ls --format`` templates see (Docker's networkContext), as columns
    of ``table``, each made when a template uses it. ``__extra__.Subnets`` is pynet's
    own field (moby#18626), not in Docker's ``{{json .}}``."""

    def labels() -> list[str]:
        return [",".join(f"{k}={v}" for k, v in sorted(ls.items())) if ls else "" for ls in table.labels]

    return {
        "CreatedAt": lambda: [created_at(c) for c in table.created],
        "Driver": lambda: table.driver,
        "ID": lambda: [i[:SHORT_LEN] for i in table.ids],  # ids.short, inlined: 1000 calls
        "IPv6": lambda: ["true" if v else "false" for v in table.enable_ipv6],
        "Internal": lambda: ["true" if v else "false" for v in table.internal],
        "Labels": labels,
        "Name": lambda: table.name,
        "Scope": lambda: table.scope,
        "__extra__.Subnets": lambda: table.subnets,
    }


def network_filter_item(row: NetworkRow) -> dict[str, Any]:
    return {
        "full_id": row.id,
        "name": row.name,
        "driver": row.driver,
        "scope": row.scope,
        "labels": dict(row.labels or {}),
        "builtin": row.builtin,
        "created": row.created,
    }


# -- containers --------------------------------------------------------------------------
def _ports_view(c: Container) -> dict[str, Any]:
    if not c.ports and not c.exposed:
        return {}
    from pynet.records.ports import ports_view

    return ports_view(c)


def container_networks(c: Container, repo: Repo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for net_id, ep_id in c.endpoints.items():
        net, ep = repo.network(net_id), repo.endpoint(ep_id)
        if net is None or ep is None:
            continue
        ip, plen = _split(ep.ipv4)
        ip6, plen6 = _split(ep.ipv6)
        aliases = None
        if not net.builtin:
            aliases = [*ep.aliases, short(c.id)]
        asked = c.asked_networks().get(net_id) or {}
        out[net.name] = {
            "IPAMConfig": _ipam_config(asked) or dict(ep.ipam_request) or None,
            "Links": list(asked.get("links") or []) or None,
            "Aliases": aliases,
            "NetworkID": net.id,
            "EndpointID": ep.id,
            "Gateway": ep.gateway,
            "IPAddress": ip,
            "IPPrefixLen": plen,
            "IPv6Gateway": ep.gateway6,
            "GlobalIPv6Address": ip6,
            "GlobalIPv6PrefixLen": plen6,
            "MacAddress": ep.mac,
            "DriverOpts": ep.driver_opts,
        }
        if ep.link:  # pynet's added key (link shaping); Docker's keys stay as they are
            from pynet.cnm.links import inspect_view

            out[net.name]["PynetLink"] = inspect_view(ep)
    if out:
        return out
    # No live endpoint: a created or stopped container (its networks with the settings
    # asked for, without addresses, as Docker shows them) or host/none mode.
    asked = c.asked_networks()
    ids = [*asked, *(i for i in c.last_networks if i not in asked)]
    if not ids and c.network_mode in ENDPOINTLESS_MODES:
        net = repo.find_network(c.network_mode)
        ids = [net.id] if net is not None else []
    for key in ids:
        net = repo.network(key)
        if net is not None:
            out[net.name] = _unjoined(net.id, asked.get(key) or {})
        elif key in asked:  # asked for by a name that does not exist: dockerd shows it, no ID
            out[key] = _unjoined("", asked[key])
    return out


def _ipam_config(asked: dict[str, Any]) -> dict[str, Any]:
    """Docker's EndpointIPAMConfig of what was asked (only the keys given)."""
    out: dict[str, Any] = {}
    if asked.get("ipv4"):
        out["IPv4Address"] = asked["ipv4"]
    if asked.get("ipv6"):
        out["IPv6Address"] = asked["ipv6"]
    if asked.get("link_local_ips"):
        out["LinkLocalIPs"] = list(asked["link_local_ips"])
    return out


def _unjoined(net_id: str, asked: dict[str, Any]) -> dict[str, Any]:
    """A network the container is on without an endpoint: what was asked, no address."""
    return {
        "IPAMConfig": _ipam_config(asked) or None,
        "Links": list(asked.get("links") or []) or None,
        "Aliases": list(asked.get("aliases") or []) or None,
        "NetworkID": net_id,
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": asked.get("mac") or "",
        "DriverOpts": asked.get("driver_opts") or None,
    }


def _split(cidr: str) -> tuple[str, int]:
    """ "172.18.0.2/16" -> ("172.18.0.2", 16): shown as stored (a damaged record's odd
    value is displayed, not parsed into an error)."""
    address, _, plen = cidr.partition("/")
    return address, int(plen) if plen.isascii() and plen.isdigit() else 0


#: dockerd 20.10's HostConfig for what pynet never sets (no volumes, capabilities, limits...),
#: in dockerd's key order; the networking keys come from the container (_host_config)
HOST_CONFIG_UNSET: dict[str, Any] = {
    "Binds": None,
    "ContainerIDFile": "",
    "LogConfig": None,
    "NetworkMode": None,
    "PortBindings": None,
    "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": None,
    "VolumeDriver": "",
    "VolumesFrom": None,
    "CapAdd": None,
    "CapDrop": None,
    "Dns": None,
    "DnsOptions": None,
    "DnsSearch": None,
    "ExtraHosts": None,
    "GroupAdd": None,
    "Cgroup": "",
    "Links": None,
    "OomScoreAdj": 0,
    "PidMode": "",
    "Privileged": False,
    "PublishAllPorts": None,
    "ReadonlyRootfs": False,
    "SecurityOpt": None,
    "UTSMode": "",
    "UsernsMode": "",
    "ConsoleSize": [0, 0],
    "Isolation": "",
    "CpuShares": 0,
    "Memory": 0,
    "NanoCpus": 0,
    "CgroupParent": "",
    "BlkioWeight": 0,
    "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [],
    "BlkioDeviceWriteIOps": [],
    "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0,
    "CpusetCpus": "",
    "CpusetMems": "",
    "Devices": [],
    "DeviceCgroupRules": None,
    "DeviceRequests": None,
    "KernelMemory": 0,
    "KernelMemoryTCP": 0,
    "MemoryReservation": 0,
    "MemorySwap": 0,
    "MemorySwappiness": None,
    "OomKillDisable": False,
    "PidsLimit": None,
    "Ulimits": [],
    "CpuCount": 0,
    "CpuPercent": 0,
    "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0,
}


def _host_config(c: Container) -> dict[str, Any]:
    """``HostConfig`` with every key dockerd sends (clients index it without ``.get``)."""
    own = {
        "NetworkMode": c.network_mode,
        "PortBindings": _port_bindings(c),
        "AutoRemove": c.auto_remove,
        "Dns": list(c.dns),
        "DnsOptions": list(c.dns_options),
        "DnsSearch": list(c.dns_search),
        "ExtraHosts": list(c.extra_hosts) or None,
        "PublishAllPorts": c.publish_all,
        "LogConfig": {"Type": "json-file", "Config": {}},
    }
    return {**HOST_CONFIG_UNSET, **own}


def container_inspect(c: Container, repo: Repo) -> dict[str, Any]:
    """``docker inspect`` of a container (the networking-relevant parts in Docker's shape)."""
    networks = container_networks(c, repo)
    default = networks.get(DEFAULT_NETWORK, {}) if c.network_mode == DEFAULT_NETWORK else {}
    d = paths.container_dir(c.id)
    running = c.status == "running"
    return {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": list(c.args),
        "State": {
            "Status": c.status,
            "Running": running,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": c.status == "dead",
            "Pid": c.pid if running else 0,
            "ExitCode": c.exit_code,
            "Error": c.error,
            "StartedAt": c.started_at,
            "FinishedAt": c.finished_at,
        },
        "Image": "sha256:" + c.image_id if c.image_id else "",
        "ResolvConfPath": str(d / "resolv.conf"),
        "HostnamePath": str(d / "hostname"),
        "HostsPath": str(d / "hosts"),
        "LogPath": str(d / "container.log") if c.detach else "",
        "Name": "/" + c.name,
        "RestartCount": 0,
        "Driver": "",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": _host_config(c),
        "Mounts": [],
        "Config": {
            "Hostname": c.hostname,
            "Domainname": c.domainname,
            "User": "",
            "AttachStdin": c.interactive,
            "AttachStdout": not c.detach,
            "AttachStderr": not c.detach,
            "ExposedPorts": {p: {} for p in c.exposed} or None,
            "Tty": c.tty,
            "OpenStdin": c.interactive,
            "StdinOnce": False,
            "Env": list(c.env) or None,
            "Cmd": [c.path, *c.args],
            "Image": c.image,
            "WorkingDir": c.workdir,
            "Entrypoint": None,
            "Labels": dict(c.labels),
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": c.sandbox_id,
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": _ports_view(c),
            "SandboxKey": c.netns_path,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": default.get("EndpointID", ""),
            "Gateway": default.get("Gateway", ""),
            "GlobalIPv6Address": default.get("GlobalIPv6Address", ""),
            "GlobalIPv6PrefixLen": default.get("GlobalIPv6PrefixLen", 0),
            "IPAddress": default.get("IPAddress", ""),
            "IPPrefixLen": default.get("IPPrefixLen", 0),
            "IPv6Gateway": default.get("IPv6Gateway", ""),
            "MacAddress": default.get("MacAddress", ""),
            "Networks": networks,
        },
    }


def _port_bindings(c: Container) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in c.ports:
        out.setdefault(f"{p.container_port}/{p.proto}", []).append(
            {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""}
        )
    return out


def status_text(c: Container, now_ns: int) -> str:
    """Docker's STATUS column ("Up 3 seconds", "Exited (0) 2 minutes ago", "Created")."""
    if c.status == "running":
        return "Up " + _ago(c.started_at, now_ns)
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {_ago(c.finished_at, now_ns)} ago"
    return c.status.capitalize()


def _epoch(rfc3339: str) -> int:
    """Seconds since 1970 of a UTC RFC 3339 time; ValueError when it is not one.

    Not ``time.strptime``/``calendar``: they import ``re`` and ``locale`` (design.md, "Start-up").
    """
    from datetime import datetime, timezone

    date, _, clock = rfc3339.split(".")[0].rstrip("Z").partition("T")
    year, month, day = (int(part) for part in date.split("-"))
    hour, minute, second = (int(part) for part in clock.split(":"))
    return int(datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc).timestamp())


def _ago(rfc3339: str, now_ns: int) -> str:
    try:
        then = _epoch(rfc3339)
    except ValueError:
        return "Less than a second"
    secs = max(0, now_ns // 1_000_000_000 - then)
    if secs < 1:
        return "Less than a second"
    if secs < 60:
        return f"{secs} second{'s' if secs != 1 else ''}"
    mins = secs // 60
    if mins < 60:
        return "About a minute" if mins == 1 else f"{mins} minutes"
    hours = mins // 60
    if hours < 48:
        return "About an hour" if hours == 1 else f"{hours} hours"
    return f"{hours // 24} days"


def ps_item(c: Container, repo: Repo, now_ns: int) -> dict[str, Any]:
    """What ``ps --format`` templates see (Docker's containerContext)."""
    command = " ".join([c.path, *c.args])
    if len(command) > 20:
        command = command[:19] + "…"
    nets = sorted(n.name for n in (repo.network(i) for i in (c.endpoints or c.last_networks)) if n is not None)
    if not nets and c.network_mode in ENDPOINTLESS_MODES:
        nets = [c.network_mode]
    ports = ""
    if c.ports:
        from pynet.records.ports import port_lines

        ports = ", ".join(_ps_port(line) for line in port_lines(c))
    return {
        "ID": short(c.id),
        "Image": c.image,
        "Command": f'"{command}"',
        "CreatedAt": created_at(c.created),
        "RunningFor": _ago(c.created, now_ns) + " ago",
        "Ports": ports,
        "State": c.status,
        "Status": status_text(c, now_ns),
        "Size": "0B",
        "Names": c.name,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items())),
        "Mounts": "",
        "Networks": ",".join(nets),
        "LocalVolumes": "0",
    }


def _ps_port(line: str) -> str:
    # "80/tcp -> 0.0.0.0:8080" -> "0.0.0.0:8080->80/tcp"
    left, _, right = line.partition(" -> ")
    return f"{right}->{left}"

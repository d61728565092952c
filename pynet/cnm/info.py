"""``pynet info`` and ``pynet version``: this host's pynet, in Docker's field names where
Docker has them (docs/info.md). Read-only; parts that need root say so instead of failing."""

from __future__ import annotations

import os
import platform
import sys

from pynet import __version__, paths
from pynet.errors import PynetError

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.notifier import Notifier
    from pynet.cnm.repo import Repo

#: The Engine API pynet implements and advertises (pynet.api, docs/engine-api.md; Podman's
#: compat API advertises the same) and dockerd 28's floor (the 28.x CLI downgrades below it).
API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
#: Go's GOARCH for this machine (the docker CLI prints it)
_GOARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}


def goarch() -> str:
    """This machine's architecture in Go's words (``amd64``), as Docker reports it."""
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def host_facts() -> dict[str, Any]:
    """dockerd's ``info`` fields about the host itself (the Engine API's ``/info``)."""
    from pynet.kernel import procnet

    return {
        "IPv4Forwarding": procnet.ipv4_forwarding(),
        "OperatingSystem": procnet.os_name(),
        "MemTotal": procnet.mem_total(),
    }


def version_info() -> dict[str, Any]:
    """``docker version``'s shape: the CLI is the Client, the daemonless engine the Server."""
    python = platform.python_version()
    kernel = platform.release()
    return {
        "Client": {
            "Platform": {"Name": "pynet"},
            "Version": __version__,
            "ApiVersion": API_VERSION,
            "DefaultAPIVersion": API_VERSION,
            "GitCommit": "",
            "PythonVersion": python,
            "Os": "linux",
            "Arch": goarch(),
            "BuildTime": "",
            "Context": "default",
        },
        "Server": {
            "Platform": {"Name": "pynet (daemonless)"},
            "Components": [
                {
                    "Name": "Engine",
                    "Version": __version__,
                    "Details": {
                        "ApiVersion": API_VERSION,
                        "Arch": goarch(),
                        "KernelVersion": kernel,
                        "MinAPIVersion": MIN_API_VERSION,
                        "Os": "linux",
                        "PythonVersion": python,
                    },
                },
            ],
            "Version": __version__,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
            "Arch": goarch(),
            "KernelVersion": kernel,
        },
    }


def _counts(repo: Repo) -> dict[str, Any]:
    by_status = {"running": 0, "paused": 0, "stopped": 0}
    for c in repo.containers():
        by_status["running" if c.status == "running" else "stopped"] += 1
    drivers: dict[str, int] = {}
    for net in repo.networks():
        drivers[net.driver] = drivers.get(net.driver, 0) + 1
    return {
        "Containers": sum(by_status.values()),
        "ContainersRunning": by_status["running"],
        "ContainersPaused": by_status["paused"],
        "ContainersStopped": by_status["stopped"],
        "Networks": sum(drivers.values()),
        "NetworksByDriver": dict(sorted(drivers.items())),
    }


def _firewall() -> dict[str, Any]:
    """pynet's nftables backend and what it does next to Docker's (or another) firewall."""
    from pynet.firewall import hooks

    if not hooks.enabled():
        return {"Enabled": False, "Backend": "", "ForeignForwardDrop": [], "ForeignFirewall": ""}
    from pynet.firewall import policy
    from pynet.kernel import nft

    out: dict[str, Any] = {
        "Enabled": True,
        "Backend": nft.describe_backend(),
        "ForeignFirewall": "auto" if policy.foreign_auto() else "manual",
    }
    try:
        out["ForeignForwardDrop"] = [" ".join(where) for where, _into in policy.foreign_targets()]
    except (PynetError, OSError) as exc:  # e.g. no root: the ruleset cannot be listed
        out["ForeignForwardDrop"] = None
        out["Warning"] = f"could not list the ruleset: {getattr(exc, 'message', exc)}"
    return out


def _cluster(root: Any) -> dict[str, Any]:
    from pynet.state import etcd

    cfg = etcd.load_config(root)
    if cfg is None:
        return {"Member": False}
    return {
        "Member": True,
        "NodeID": cfg.node_id,
        "NodeName": cfg.node_name,
        "Store": cfg.store,
        "AdvertiseAddr": cfg.advertise_addr,
    }


def link_impairments() -> dict[str, bool] | None:
    """What link shaping this host supports, when pynet has link shaping (``pynet.cnm.links``,
    branch ``link``); None without it."""
    try:
        from pynet.cnm import links  # type: ignore[attr-defined]
    except ImportError:  # this pynet has no link shaping
        return None
    supported = getattr(links, "supported_impairments", None)
    return dict(supported()) if supported is not None else None


def system_info(repo: Repo, notifier: Notifier) -> dict[str, Any]:
    """``pynet info``: Docker's ``docker info`` fields that apply, and pynet's own."""
    return {
        **_counts(repo),
        "Name": platform.node(),
        "ServerVersion": __version__,
        "KernelVersion": platform.release(),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 0,
        "DockerRootDir": str(repo.store.root),
        "Pynet": {
            "StateDir": str(repo.store.root),
            "RunDir": str(paths.run_dir()),
            "Helper": {"Running": notifier.is_running()},
            "Firewall": _firewall(),
            "Cluster": _cluster(repo.store.root),
            "LinkImpairments": link_impairments(),
            "Python": sys.version.split()[0],
        },
    }

"""``/_ping``, ``/version``, ``/info``, ``/swarm*`` and the refusal of ``/images/create``."""

from __future__ import annotations

import json
import os
import platform

from pynet import __version__, paths
from pynet.api import core
from pynet.api.http import Request, Response, json_response, text
from pynet.api.version import API_VERSION, MIN_API_VERSION
from pynet.cnm.info import goarch, host_facts
from pynet.errors import PynetError

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

NOT_A_SWARM = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
    "to connect this node to swarm and try again."
)
PULL_REFUSED = (
    "pynet does not pull images: import a root filesystem with "
    "`pynet image import DIR|TARBALL NAME[:TAG]`, then use NAME"
)


def ping(req: Request) -> Response:
    """dockerd's ``/_ping``: ``OK`` (HEAD: no body) with its no-cache headers."""
    headers = {
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
        "Builder-Version": "1",
        "Swarm": "inactive",
    }
    if req.method == "HEAD":
        return Response(status=200, content_type="text/plain; charset=utf-8", headers=headers)
    resp = text("OK")
    resp.headers.update(headers)
    return resp


def version(req: Request) -> Response:
    """``/version`` in dockerd's shape (docker-py reads ``ApiVersion`` from it)."""
    uname = os.uname()
    engine = {
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "python" + platform.python_version(),
        "Os": "linux",
        "Arch": goarch(),
        "KernelVersion": uname.release,
        "BuildTime": "",
    }
    return json_response(
        {
            "Platform": {"Name": "pynet"},
            "Components": [{"Name": "Engine", "Version": __version__, "Details": {**engine, "Experimental": "false"}}],
            **engine,
        }
    )


def info(req: Request) -> Response:
    """``/info``: the fields of dockerd's answer that apply to pynet."""
    repo = core.reader()
    containers = repo.containers()
    running = sum(1 for c in containers if c.status == "running")
    uname = os.uname()
    host = host_facts()
    body: dict[str, Any] = {
        "ID": "",
        "Containers": len(containers),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": len(containers) - running,
        "Images": _image_count(),
        "Driver": "",
        "DriverStatus": [],
        "Plugins": {
            "Volume": [],
            "Network": ["bridge", "host", "macvlan", "null", "overlay"],
            "Authorization": None,
            "Log": ["json-file"],
        },
        "MemoryLimit": False,
        "SwapLimit": False,
        "KernelMemoryTCP": False,
        "CpuCfsPeriod": False,
        "CpuCfsQuota": False,
        "CPUShares": False,
        "CPUSet": False,
        "PidsLimit": False,
        "IPv4Forwarding": host["IPv4Forwarding"],
        "BridgeNfIptables": False,
        "BridgeNfIp6tables": False,
        "Debug": False,
        "NFd": 0,
        "OomKillDisable": False,
        "NGoroutines": 0,
        "SystemTime": _now(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "none",
        "CgroupVersion": "2",
        "NEventsListener": 0,
        "KernelVersion": uname.release,
        "OperatingSystem": host["OperatingSystem"],
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": uname.machine,
        "IndexServerAddress": "",
        "RegistryConfig": None,
        "NCPU": os.cpu_count() or 1,
        "MemTotal": host["MemTotal"],
        "GenericResources": None,
        "DockerRootDir": str(paths.state_dir()),
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": uname.nodename,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": __version__,
        "Runtimes": {"pynet": {"path": "pynet"}},
        "DefaultRuntime": "pynet",
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": [],
        "Warnings": None,
    }
    return json_response(body)


def no_swarm(req: Request) -> Response:
    """Every swarm endpoint: 503, as a dockerd that is not in a swarm."""
    return json_response({"message": NOT_A_SWARM}, status=503)


def pull_refused(req: Request) -> Response:
    """``/images/create`` (pull): pynet has no registry. An imported image is "up to date"
    (the docker CLI pulls after any 404 on create — a missing network too — and then
    creates again); any other name gets a 404 that says how to import."""
    from pynet import wiring
    from pynet.records import image as refs

    image = req.arg("fromImage") or req.arg("fromSrc")
    tag = req.arg("tag")
    name = f"{image}:{tag}" if tag and image and ":" not in image.rpartition("/")[2] else image
    try:
        found = wiring.images().find(refs.normalize(name)) if name else None
    except PynetError:
        found = None
    if found is None:
        return json_response({"message": f"pull access denied for {name}: {PULL_REFUSED}"}, status=404)
    short = refs.normalize(name)
    lines = [
        {"status": f"Pulling from {short.partition(':')[0]}", "id": short.partition(":")[2]},
        {"status": f"Digest: sha256:{found.id}"},
        {"status": f"Status: Image is up to date for {short}"},
    ]
    return Response(content_type="application/json", stream=(json.dumps(x).encode() + b"\r\n" for x in lines))


def _image_count() -> int:
    from pynet import wiring

    return len(wiring.images().images())


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")

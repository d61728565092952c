#!/usr/bin/env python3
"""vethnet: a small third-party network + IPAM plugin speaking Docker's plugin protocol.

It is what pynet's tests start, and the example of ``docs/plugins.md``. Standard library
only; it runs ``ip`` for its kernel work, in whatever network namespace it is started in.

Network driver (``-d vethnet``):
  CreateNetwork   a Linux bridge ``vn<10 hex of the network id>``, given the gateway address
  Join            a veth pair ``vh<id>``/``vc<id>``: ``vh`` on the bridge, ``vc`` handed to
                  the engine (``InterfaceName.SrcName``) with the gateway; the network
                  option ``vethnet.route=CIDR`` adds a static route via the gateway
  Leave           deletes the veth pair; DeleteNetwork deletes the bridge
IPAM driver (``--ipam-driver vethnet``): pools as asked, or ``10.123.<n>.0/24`` of its own
  choice; addresses handed out in order.

Test knobs: ``--fail METHOD=TEXT`` answers ``{"Err": TEXT}``; ``--hang METHOD`` never
answers; ``--garbage METHOD`` answers something that is not JSON; ``--own-mac`` returns a
MAC address of its own from CreateEndpoint; ``--implements`` limits the manifest.
``--state FILE`` keeps a JSON picture of what it holds (and every call it got).

Run: ``python3 vethnet.py --socket /run/docker/plugins/vethnet.sock``
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

MIMETYPE = "application/vnd.docker.plugins.v1.2+json"


def ip(*args: str, check: bool = True) -> bool:
    """Run ``ip ARGS`` (bounded); raise RuntimeError with its message on failure."""
    cp = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and cp.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {cp.stderr.strip()}")
    return cp.returncode == 0


class VethNet:
    """The plugin's logic: one method per protocol call, returning the JSON answer."""

    def __init__(self, own_mac: bool = False) -> None:
        self.own_mac = own_mac
        self.lock = threading.Lock()
        self.networks: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.pools: dict[str, dict[str, Any]] = {}
        self.returned: dict[str, bool] = {}  # endpoint -> its interface was back at Leave
        self.calls: list[str] = []

    # -- network driver ----------------------------------------------------------------
    def create_network(self, req: dict[str, Any]) -> dict[str, Any]:
        nid = req["NetworkID"]
        bridge = "vn" + nid[:10]
        v4 = req.get("IPv4Data") or [{}]
        gateway = v4[0].get("Gateway", "")
        generic = (req.get("Options") or {}).get("com.docker.network.generic") or {}
        ip("link", "add", bridge, "type", "bridge")
        try:
            if gateway:
                ip("addr", "add", gateway, "dev", bridge)
            ip("link", "set", bridge, "up")
        except RuntimeError:
            ip("link", "del", bridge, check=False)
            raise
        self.networks[nid] = {"bridge": bridge, "gateway": gateway, "route": generic.get("vethnet.route", "")}
        return {}

    def delete_network(self, req: dict[str, Any]) -> dict[str, Any]:
        net = self.networks.pop(req["NetworkID"], None)
        if net is not None:
            ip("link", "del", net["bridge"], check=False)
        return {}

    def create_endpoint(self, req: dict[str, Any]) -> dict[str, Any]:
        nid, eid = req["NetworkID"], req["EndpointID"]
        if nid not in self.networks:
            return {"Err": f"no such network {nid}"}
        self.endpoints[eid] = {"network": nid, "interface": req.get("Interface") or {}}
        if self.own_mac:
            mac = "02:aa:" + ":".join(eid[i : i + 2] for i in range(0, 8, 2))
            self.endpoints[eid]["mac"] = mac
            return {"Interface": {"MacAddress": mac}}
        return {}

    def endpoint_oper_info(self, req: dict[str, Any]) -> dict[str, Any]:
        ep = self.endpoints.get(req["EndpointID"], {})
        return {"Value": {"host_ifname": ep.get("host", "")}}

    def delete_endpoint(self, req: dict[str, Any]) -> dict[str, Any]:
        self.endpoints.pop(req["EndpointID"], None)
        return {}

    def join(self, req: dict[str, Any]) -> dict[str, Any]:
        eid = req["EndpointID"]
        ep = self.endpoints.get(eid)
        if ep is None:
            return {"Err": f"no such endpoint {eid}"}
        net = self.networks[ep["network"]]
        host, peer = "vh" + eid[:10], "vc" + eid[:10]
        ip("link", "add", host, "type", "veth", "peer", "name", peer)
        try:
            ip("link", "set", host, "master", net["bridge"], "up")
        except RuntimeError:
            ip("link", "del", host, check=False)
            raise
        ep.update(host=host, sandbox=req.get("SandboxKey", ""))
        answer: dict[str, Any] = {"InterfaceName": {"SrcName": peer, "DstPrefix": "eth"}}
        gateway = net["gateway"].split("/")[0]
        if gateway:
            answer["Gateway"] = gateway
            if net["route"]:
                answer["StaticRoutes"] = [{"Destination": net["route"], "RouteType": 0, "NextHop": gateway}]
        return answer

    def leave(self, req: dict[str, Any]) -> dict[str, Any]:
        eid = req["EndpointID"]
        ep = self.endpoints.get(eid)
        if ep and ep.get("host"):
            # The engine hands the container side back before Leave, under our name.
            self.returned[eid] = ip("link", "show", "vc" + eid[:10], check=False)
            ip("link", "del", ep.pop("host"), check=False)
        return {}

    # -- IPAM driver --------------------------------------------------------------------
    def request_pool(self, req: dict[str, Any]) -> dict[str, Any]:
        wanted = req.get("Pool") or ""
        if not wanted and req.get("SubPool"):
            return {"Err": "SubPool without Pool"}
        if not wanted:
            wanted = self._free_pool(bool(req.get("V6")))
        pool = str(ipaddress.ip_network(wanted, strict=False))
        pool_id = f"vethnet/{req.get('AddressSpace', '')}/{pool}"
        entry = self.pools.setdefault(pool_id, {"pool": pool, "sub": req.get("SubPool") or "", "taken": [], "refs": 0})
        entry["refs"] += 1
        return {"PoolID": pool_id, "Pool": pool, "Data": {"vethnet": "yes"}}

    def _free_pool(self, v6: bool) -> str:
        used = {p["pool"] for p in self.pools.values()}
        for n in range(256):
            pool = f"fd00:123:{n}::/64" if v6 else f"10.123.{n}.0/24"
            if pool not in used:
                return pool
        raise RuntimeError("no free pool left")

    def release_pool(self, req: dict[str, Any]) -> dict[str, Any]:
        entry = self.pools.get(req["PoolID"])
        if entry is not None:
            entry["refs"] -= 1
            if entry["refs"] <= 0:
                del self.pools[req["PoolID"]]
        return {}

    def request_address(self, req: dict[str, Any]) -> dict[str, Any]:
        entry = self.pools.get(req["PoolID"])
        if entry is None:
            return {"Err": f"no such pool {req['PoolID']}"}
        net = ipaddress.ip_network(entry["pool"])
        wanted = req.get("Address") or ""
        if wanted:
            if wanted in entry["taken"]:
                return {"Err": f"address {wanted} already in use"}
            address = wanted
        else:
            rng = ipaddress.ip_network(entry["sub"]) if entry["sub"] else net
            address = next((str(h) for h in rng.hosts() if str(h) not in entry["taken"]), "")
            if not address:
                return {"Err": f"no free address in {rng}"}
        entry["taken"].append(address)
        return {"Address": f"{address}/{net.prefixlen}", "Data": {}}

    def release_address(self, req: dict[str, Any]) -> dict[str, Any]:
        entry = self.pools.get(req["PoolID"])
        if entry is not None and req.get("Address") in entry["taken"]:
            entry["taken"].remove(req["Address"])
        return {}

    # -- dispatch -----------------------------------------------------------------------
    def routes(self) -> dict[str, Any]:
        return {
            "NetworkDriver.GetCapabilities": lambda r: {"Scope": "local", "ConnectivityScope": "local"},
            "NetworkDriver.CreateNetwork": self.create_network,
            "NetworkDriver.DeleteNetwork": self.delete_network,
            "NetworkDriver.CreateEndpoint": self.create_endpoint,
            "NetworkDriver.EndpointOperInfo": self.endpoint_oper_info,
            "NetworkDriver.DeleteEndpoint": self.delete_endpoint,
            "NetworkDriver.Join": self.join,
            "NetworkDriver.Leave": self.leave,
            "NetworkDriver.DiscoverNew": lambda r: {},
            "NetworkDriver.DiscoverDelete": lambda r: {},
            "IpamDriver.GetCapabilities": lambda r: {"RequiresMACAddress": False},
            "IpamDriver.GetDefaultAddressSpaces": lambda r: {
                "LocalDefaultAddressSpace": "vethnet-local",
                "GlobalDefaultAddressSpace": "vethnet-global",
            },
            "IpamDriver.RequestPool": self.request_pool,
            "IpamDriver.ReleasePool": self.release_pool,
            "IpamDriver.RequestAddress": self.request_address,
            "IpamDriver.ReleaseAddress": self.release_address,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "networks": self.networks,
            "endpoints": self.endpoints,
            "pools": self.pools,
            "returned": self.returned,
            "calls": self.calls,
        }


class Handler(BaseHTTPRequestHandler):
    """One HTTP request: ``POST /<Method>`` with a JSON body."""

    server: Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        method = self.path.lstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        srv = self.server
        if method in srv.hang:
            time.sleep(3600)  # a stuck plugin: the engine must give up on its own
        if method in srv.garbage:
            return self._send(200, b"<html>this is not JSON</html>", "text/html")
        if method == "Plugin.Activate":
            return self._json(200, {"Implements": srv.implements})
        handler = srv.routes.get(method)
        if handler is None:
            return self._send(404, b"404 page not found\n", "text/plain")
        try:
            request = json.loads(body) if body.strip() else {}
        except ValueError:
            return self._json(400, {"Err": "request body is not JSON"})
        with srv.plugin.lock:
            srv.plugin.calls.append(method)
            if method in srv.fail:
                answer = {"Err": srv.fail[method]}
            else:
                try:
                    answer = handler(request)
                except (RuntimeError, KeyError, ValueError) as exc:
                    answer = {"Err": f"{exc.__class__.__name__}: {exc}"}
            srv.save_state()
        self._json(200, answer)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), MIMETYPE)

    def _send(self, status: int, payload: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def address_string(self) -> str:  # a unix socket peer has no address
        return "unix"

    def log_message(self, fmt: str, *args: Any) -> None:
        sys.stderr.write("vethnet: " + (fmt % args) + "\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A threaded HTTP server on a unix socket (a hung call does not block the others)."""

    daemon_threads = True

    def __init__(self, path: str, plugin: VethNet, args: argparse.Namespace) -> None:
        self.plugin = plugin
        self.routes = plugin.routes()
        self.implements = args.implements
        self.fail = dict(item.split("=", 1) for item in args.fail)
        self.hang = set(args.hang)
        self.garbage = set(args.garbage)
        self.state_file = args.state
        super().__init__(path, Handler)
        self.save_state()

    def save_state(self) -> None:
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.plugin.snapshot(), f, indent=1)
        os.replace(tmp, self.state_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="unix socket to listen on (NAME.sock)")
    parser.add_argument("--state", default="", help="write a JSON picture of the plugin's state here")
    parser.add_argument("--implements", nargs="+", default=["NetworkDriver", "IpamDriver"])
    parser.add_argument("--fail", action="append", default=[], metavar="METHOD=TEXT")
    parser.add_argument("--hang", action="append", default=[], metavar="METHOD")
    parser.add_argument("--garbage", action="append", default=[], metavar="METHOD")
    parser.add_argument("--own-mac", action="store_true", help="choose endpoint MAC addresses")
    args = parser.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.socket)), exist_ok=True)
    if os.path.exists(args.socket):
        os.unlink(args.socket)  # a stale socket of an earlier run
    server = Server(args.socket, VethNet(own_mac=args.own_mac), args)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        os.unlink(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bodies of ``pynet network create/ls/inspect/rm/connect/disconnect`` (no click here).

Each function takes exactly the parameters click (or the fast path) parsed, by name;
``pynet.cli.network`` declares the flags.
"""

from __future__ import annotations

import os

from pynet.cli.base import controller, echo, print_inspect, print_notices, reader
from pynet.errors import ExitStatus, InvalidArgument, NoSuchNetwork, PynetError

NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORK_HEADERS = {"ID": "NETWORK ID", "CreatedAt": "CREATED AT", "Subnets": "SUBNETS"}


def kv(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``key=value`` flags as a dict (``--aux-address`` insists on the ``=``, as Docker)."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if what == "aux-address" and not sep:
            raise InvalidArgument(
                f'invalid argument "{item}" for "--aux-address" flag: bad format for aux-address: {item}',
                from_daemon=False,
            )
        out[key] = value
    return out


def create(
    name: str,
    driver: str,
    subnet: tuple[str, ...],
    gateway: tuple[str, ...],
    ip_range: tuple[str, ...],
    aux_address: tuple[str, ...],
    ipv6: bool,
    internal: bool,
    attachable: bool,
    ingress: bool,
    opt: tuple[str, ...],
    label: tuple[str, ...],
    ipam_driver: str,
    ipam_opt: tuple[str, ...],
    scope: str,
    ignore: bool = False,
) -> None:
    from pynet.cnm.networks import NetworkCreateRequest

    req = NetworkCreateRequest(
        name=name,
        driver=driver,
        subnets=list(subnet),
        gateways=list(gateway),
        ip_ranges=list(ip_range),
        aux_addresses=kv(aux_address, "aux-address"),
        enable_ipv6=ipv6,
        internal=internal,
        attachable=attachable,
        ingress=ingress,
        options=kv(opt, "opt"),
        labels=kv(label, "label"),
        ipam_driver=ipam_driver,
        ipam_options=kv(ipam_opt, "ipam-opt"),
        scope=scope,
        ignore_existing=ignore,
    )
    ctl = controller()
    net = ctl.create_network(req)
    print_notices(ctl)
    echo(net.id)


def ls(filters: tuple[str, ...], fmt: str | None, no_trunc: bool, quiet: bool) -> None:
    from pynet.cli import formatting
    from pynet.cnm import listing, views

    parsed = formatting.parse_filters(list(filters), listing.NETWORK_FILTERS)
    table = listing.network_table(reader(documents=True), parsed)
    # The default table and -q of every network, rendered once per change of the rows
    # (a table of 1000 networks is ~0.5 ms to render); the key names the code that renders.
    key = None if parsed or fmt not in (None, "", "table") else _ls_key(quiet, no_trunc)
    out = table.rendered(key) if key else None
    if out is None:
        columns = views.network_ls_columns(table)
        if no_trunc:
            columns["ID"] = lambda: table.ids
        out = formatting.format_columns(
            columns, fmt, default_table=NETWORK_TABLE, quiet_field="ID", quiet=quiet, headers=NETWORK_HEADERS
        )
        if key:
            table.keep_rendered(key, out)
    echo(out, nl=False)


def _ls_key(quiet: bool, no_trunc: bool) -> str:
    """The name of a default ``network ls`` rendering: its flags and the (mtime, size)
    of the modules that render it, so that other code never serves a kept text."""
    import sys

    from pynet.cli import formatting
    from pynet.cnm import views

    stamps = []
    for path in (formatting.__file__, views.__file__, sys.modules[__name__].__file__):
        st = os.stat(path)
        stamps.append(f"{st.st_mtime_ns}:{st.st_size}")
    return f"ls q={quiet:d} notrunc={no_trunc:d} " + " ".join(stamps)


def inspect(fmt: str | None, verbose: bool, names: tuple[str, ...]) -> None:
    from pynet.cnm import views

    repo = reader(documents=not verbose)
    found, missing = [], []
    for ref in names:
        net = repo.find_network(ref)
        if net is None:
            missing.append(ref)
        elif verbose:
            from pynet.cnm import hostview

            found.append(hostview.inspect_verbose(net, repo, views.network_inspect(net, repo)))
        else:
            found.append(views.network_inspect(net, repo))
    print_inspect(found, fmt, missing, "network")


def rm(force: bool, names: tuple[str, ...]) -> None:
    ctl = controller()
    failed = False
    for ref in names:
        try:
            if force:
                ctl.remove_network(ref, disconnect=True)
            else:
                ctl.remove_network(ref)
            echo(ref)
        except PynetError as exc:
            if force and isinstance(exc, NoSuchNetwork):
                continue
            echo(exc.render(), err=True)
            failed = True
    if failed:
        raise ExitStatus(1)


def connect(
    alias: tuple[str, ...],
    ip: str,
    ip6: str,
    link: tuple[str, ...],
    driver_opt: tuple[str, ...],
    network_ref: str,
    container: str,
) -> None:
    from pynet.cnm.endpoints import AttachRequest

    _check_ip(ip, 4)
    _check_ip(ip6, 6)
    req = AttachRequest(ipv4=ip, ipv6=ip6, aliases=list(alias), driver_opts=kv(driver_opt, "driver-opt") or None)
    ctl = controller()
    ctl.connect(network_ref, container, req)
    print_notices(ctl)


def disconnect(force: bool, network_ref: str, container: str) -> None:
    ctl = controller()
    ctl.disconnect(network_ref, container, force)
    print_notices(ctl)


def _check_ip(value: str, version: int) -> None:
    if not value:
        return
    import ipaddress

    try:
        ok = ipaddress.ip_address(value).version == version
    except ValueError:
        ok = False
    if not ok:
        flag = "--ip" if version == 4 else "--ip6"
        raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: invalid IP address', from_daemon=False)

"""Unit tests for pynet.cnm.etcfiles: a container's /etc/hosts and /etc/resolv.conf.

Expected texts come from Docker 20.10 (``tests/reference/docker/container-view.txt``)
and libnetwork's rules: ``etchosts.Build`` writes the standard lines, then the
``--add-host`` records, and the container's own record is appended when it joins;
``setupDNS`` copies the host's file without loopback (and, without IPv6, IPv6) servers,
falling back to 8.8.8.8/8.8.4.4, or builds one from --dns/--dns-search/--dns-option;
``rebuildDNS`` (embedded DNS on user networks) lists 127.0.0.11 plus the host's IPv6
servers, keeps search domains and options, and appends ``ndots:0`` unless the user set ndots.
"""

from __future__ import annotations

from pathlib import Path

from pynet.cnm import etcfiles

# Docker 20.10's files (reference/docker/container-view.txt): c1 on a user network,
# d1 on the default bridge of a host whose resolv.conf names 10.255.255.53.
DOCKER_C1_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
    "172.18.0.2\t2e8b435efbff\n"
)
DOCKER_C1_RESOLV = "nameserver 127.0.0.11\noptions ndots:0\n"
DOCKER_D1_HOSTS = DOCKER_C1_HOSTS.replace("172.18.0.2\t2e8b435efbff", "172.17.0.2\t0f213738a1bc")
DOCKER_D1_RESOLV = "nameserver 10.255.255.53\n"
CONTAINER_VIEW = Path(__file__).resolve().parents[1] / "reference" / "docker" / "container-view.txt"


def test_embedded_texts_are_the_reference_files() -> None:
    view = CONTAINER_VIEW.read_text()
    for heading, text in [
        ("c1 /etc/hosts", DOCKER_C1_HOSTS),
        ("c1 /etc/resolv.conf", DOCKER_C1_RESOLV),
        ("d1 (default bridge) /etc/hosts", DOCKER_D1_HOSTS),
        ("d1 /etc/resolv.conf", DOCKER_D1_RESOLV),
    ]:
        assert f"### {heading}\n{text}###" in view, heading


DOCKER_HOSTS_HEADER = DOCKER_C1_HOSTS.rsplit("172.18.0.2", 1)[0]


# -- /etc/hosts ------------------------------------------------------------------------


def test_hosts_header_is_dockers() -> None:
    assert etcfiles.hosts_file([], []) == DOCKER_HOSTS_HEADER


def test_hosts_of_a_container_equals_docker_reference() -> None:
    # c1 on a user network (172.18.0.2, hostname = 12-hex ID) and d1 on the default bridge.
    assert etcfiles.hosts_file([("172.18.0.2", "2e8b435efbff")], []) == DOCKER_C1_HOSTS
    assert etcfiles.hosts_file([("172.17.0.2", "0f213738a1bc")], []) == DOCKER_D1_HOSTS


def test_add_host_lines_come_before_the_containers_own() -> None:
    text = etcfiles.hosts_file([("10.1.0.2", "web")], ["db:10.9.9.9", "cache:10.9.9.10"])
    assert text == DOCKER_HOSTS_HEADER + "10.9.9.9\tdb\n10.9.9.10\tcache\n10.1.0.2\tweb\n"


def test_add_host_with_ipv6_address() -> None:
    # "name:ip" splits at the first colon, so an IPv6 address stays whole.
    text = etcfiles.hosts_file([], ["v6host:2001:db8::1"])
    assert text.endswith("2001:db8::1\tv6host\n")


def test_one_line_per_address_of_a_multi_network_container() -> None:
    text = etcfiles.hosts_file([("10.1.0.2", "c1"), ("10.2.0.2", "c1")], [])
    assert text == DOCKER_HOSTS_HEADER + "10.1.0.2\tc1\n10.2.0.2\tc1\n"


# -- /etc/resolv.conf on a user network (embedded DNS) -----------------------------------


def _embedded(
    host_text: str, dns: list[str] | None = None, search: list[str] | None = None, options: list[str] | None = None
) -> str:
    return etcfiles.resolv_conf(
        embedded=True, host_text=host_text, dns=dns or [], search=search or [], options=options or []
    )


def _plain(
    host_text: str, dns: list[str] | None = None, search: list[str] | None = None, options: list[str] | None = None
) -> str:
    return etcfiles.resolv_conf(
        embedded=False, host_text=host_text, dns=dns or [], search=search or [], options=options or []
    )


def test_embedded_resolv_conf_equals_docker_reference() -> None:
    assert _embedded("nameserver 10.255.255.53\n") == DOCKER_C1_RESOLV


def test_embedded_keeps_search_domains_of_the_host() -> None:
    text = _embedded("search corp.example lab.example\nnameserver 10.0.0.2\n")
    assert text == "search corp.example lab.example\nnameserver 127.0.0.11\noptions ndots:0\n"


def test_embedded_user_search_replaces_the_hosts() -> None:
    text = _embedded("search corp.example\nnameserver 10.0.0.2\n", search=["mine.example"])
    assert text == "search mine.example\nnameserver 127.0.0.11\noptions ndots:0\n"


def test_embedded_appends_ndots0_after_the_hosts_options() -> None:
    # rebuildDNS: dnsOptionsList = options of the file; then append ResolverOptions() ("ndots:0").
    text = _embedded("nameserver 10.0.0.2\noptions timeout:2 attempts:3\n")
    assert text == "nameserver 127.0.0.11\noptions timeout:2 attempts:3 ndots:0\n"


def test_embedded_user_ndots_wins() -> None:
    text = _embedded("nameserver 10.0.0.2\n", options=["ndots:3"])
    assert text == "nameserver 127.0.0.11\noptions ndots:3\n"


def test_embedded_lists_the_hosts_ipv6_servers_too() -> None:
    # "external v6 DNS servers has to be listed in resolv.conf" (libnetwork rebuildDNS)
    text = _embedded("nameserver 10.0.0.2\nnameserver 2001:db8::53\n")
    assert text == "nameserver 127.0.0.11\nnameserver 2001:db8::53\noptions ndots:0\n"


def test_embedded_never_lists_the_upstream_ipv4_servers() -> None:
    text = _embedded("nameserver 10.0.0.2\nnameserver 10.0.0.3\n", dns=["10.9.9.9"])
    assert "10.0.0.2" not in text and "10.9.9.9" not in text
    assert text.startswith("nameserver 127.0.0.11\n")


# -- /etc/resolv.conf on the default bridge (no embedded DNS) ----------------------------


def test_default_bridge_copies_host_servers_like_docker_reference() -> None:
    assert _plain("nameserver 10.255.255.53\n") == DOCKER_D1_RESOLV


def test_default_bridge_drops_loopback_servers() -> None:
    text = _plain("nameserver 127.0.0.53\nnameserver 10.0.0.2\n")
    assert "127.0.0.53" not in text
    assert "nameserver 10.0.0.2\n" in text


def test_default_bridge_falls_back_to_googles_servers() -> None:
    text = _plain("nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n")
    lines = text.splitlines()
    assert [ln for ln in lines if ln.startswith("nameserver")] == ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    assert "search corp.example" in lines
    assert "options edns0" in lines


def test_default_bridge_drops_ipv6_servers_without_ipv6() -> None:
    # FilterResolvDNS(content, ipv6Enabled=false) removes IPv6 nameservers.
    text = _plain("nameserver 10.0.0.2\nnameserver 2001:db8::53\n")
    assert "2001:db8::53" not in text
    assert "nameserver 10.0.0.2" in text


def test_default_bridge_keeps_search_and_options_of_the_host() -> None:
    text = _plain("search corp.example\nnameserver 10.0.0.2\noptions timeout:2\n")
    lines = text.splitlines()
    assert "search corp.example" in lines
    assert "nameserver 10.0.0.2" in lines
    assert "options timeout:2" in lines


def test_dns_flags_build_a_file_in_dockers_order() -> None:
    # resolvconf.Build: search, nameservers, options; unset parts come from the host.
    text = _plain("search corp.example\nnameserver 10.0.0.2\noptions timeout:2\n", dns=["10.0.0.53", "10.0.0.54"])
    assert text == "search corp.example\nnameserver 10.0.0.53\nnameserver 10.0.0.54\noptions timeout:2\n"
    text = _plain("nameserver 10.0.0.2\n", search=["a.example"], options=["ndots:2"])
    assert text == "search a.example\nnameserver 10.0.0.2\noptions ndots:2\n"


def test_comments_and_domain_lines_are_understood() -> None:
    text = _plain("# generated\n; also a comment\ndomain corp.example\nnameserver 10.0.0.2\n", dns=["10.0.0.53"])
    assert "search corp.example" in text.splitlines()
    assert "nameserver 10.0.0.53" in text.splitlines()
    assert "10.0.0.2" not in text


# -- where the embedded server forwards -------------------------------------------------


def test_upstream_servers() -> None:
    host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\n"
    assert etcfiles.upstream_servers([], host) == ["10.0.0.2"]
    assert etcfiles.upstream_servers(["10.9.9.9"], host) == ["10.9.9.9"]

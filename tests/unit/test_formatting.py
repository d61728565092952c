"""Docker's list/inspect output, byte for byte against Docker 20.10's own output.

The ``ls`` goldens are copies of ``tests/reference/docker/ls*.txt`` (captured from a real
Docker Engine 20.10.24, see that folder's README); :func:`test_embedded_goldens_equal_reference_files`
keeps them in sync. Inspect goldens are read from there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynet.cli import formatting as fmt
from pynet.cli import gotemplate as gt
from pynet.cnm import listing
from pynet.errors import InvalidArgument

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "docker"

LS_JSON = """\
{"CreatedAt":"2026-11-27 21:51:16.5966629 +0000 UTC","Driver":"bridge","ID":"325db63ba756","IPv6":"false","Internal":"false","Labels":"","Name":"bridge","Scope":"local"}
{"CreatedAt":"2026-11-27 21:52:52.514980298 +0000 UTC","Driver":"bridge","ID":"ef36114e0ec0","IPv6":"false","Internal":"false","Labels":"env=dev,team=net","Name":"custom","Scope":"local"}
{"CreatedAt":"2026-11-27 21:51:16.558981716 +0000 UTC","Driver":"host","ID":"5a8954ffed70","IPv6":"false","Internal":"false","Labels":"","Name":"host","Scope":"local"}
{"CreatedAt":"2026-11-27 21:52:52.628677857 +0000 UTC","Driver":"bridge","ID":"77d80bcb99a2","IPv6":"false","Internal":"true","Labels":"","Name":"internalnet","Scope":"local"}
{"CreatedAt":"2026-11-27 21:51:26.610058423 +0000 UTC","Driver":"bridge","ID":"eafad29990a4","IPv6":"false","Internal":"false","Labels":"","Name":"mynet","Scope":"local"}
{"CreatedAt":"2026-11-27 21:51:16.544043203 +0000 UTC","Driver":"null","ID":"3c6765a9ade3","IPv6":"false","Internal":"false","Labels":"","Name":"none","Scope":"local"}
{"CreatedAt":"2026-11-27 21:52:52.753834299 +0000 UTC","Driver":"bridge","ID":"60b9b4324222","IPv6":"true","Internal":"false","Labels":"","Name":"v6net","Scope":"local"}
"""  # noqa: E501

LS = """\
NETWORK ID     NAME          DRIVER    SCOPE
325db63ba756   bridge        bridge    local
ef36114e0ec0   custom        bridge    local
5a8954ffed70   host          host      local
77d80bcb99a2   internalnet   bridge    local
eafad29990a4   mynet         bridge    local
3c6765a9ade3   none          null      local
60b9b4324222   v6net         bridge    local
"""

LS_NOTRUNC = """\
NETWORK ID                                                         NAME          DRIVER    SCOPE
325db63ba756fb3ed631db7acbb802d8aec9d2f0bb752e9d7fa9eafb9206c52d   bridge        bridge    local
ef36114e0ec07913705b8c8b2d2eced324455a1bc72e17b00b3a6b70a3de3bd3   custom        bridge    local
5a8954ffed70c0f39a1ab174821d8401fb6def974ea2d292344b817326672ded   host          host      local
77d80bcb99a2264c072101225da4cbcfba7153206077d8c45c365cbdcaa13335   internalnet   bridge    local
eafad29990a49c58a86ba33709fc7d659d223c28abfcd61340f7db9cedf80526   mynet         bridge    local
3c6765a9ade3054b72a9a35e59d1c6beb704f6fc20ab63dfe9f8c89cca111ffb   none          null      local
60b9b4324222de0b95612264ea4a8a408d03d7779e6d869993ceb198b7a307de   v6net         bridge    local
"""

LS_FORMAT_TABLE = """\
NAME          DRIVER
bridge        bridge
custom        bridge
host          host
internalnet   bridge
mynet         bridge
none          null
v6net         bridge
"""

LS_FILTER = """\
NETWORK ID     NAME      DRIVER    SCOPE
ef36114e0ec0   custom    bridge    local
"""

LS_Q = "".join(json.loads(line)["ID"] + "\n" for line in LS_JSON.splitlines())

GOLDENS = {
    "ls.txt": LS,
    "ls-notrunc.txt": LS_NOTRUNC,
    "ls-format-table.txt": LS_FORMAT_TABLE,
    "ls-filter.txt": LS_FILTER,
    "ls-json.txt": LS_JSON,
    "ls-q.txt": LS_Q,
}

ITEMS = [json.loads(line) for line in LS_JSON.splitlines()]
FULL_IDS = {line.split()[1]: line.split()[0] for line in LS_NOTRUNC.splitlines()[1:]}


def ls(fmt_: str | None = None, items=ITEMS, **kw) -> str:
    return fmt.format_list(items, fmt_, default_table=fmt.DEFAULT_NETWORK_TABLE, **kw)


def network(item: dict) -> dict:
    """The filter view of one ``ls`` row (what pynet's network layer provides)."""
    labels = dict(kv.split("=", 1) for kv in item["Labels"].split(",") if kv)
    return {
        "full_id": FULL_IDS[item["Name"]],
        "name": item["Name"],
        "driver": item["Driver"],
        "scope": item["Scope"],
        "labels": labels,
        "builtin": item["Name"] in ("bridge", "host", "none"),
    }


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_embedded_goldens_equal_reference_files(name: str) -> None:
    assert (REFERENCE / name).read_text() == GOLDENS[name]


# ----------------------------------------------------------------- network ls goldens


def test_default_table_is_dockers() -> None:
    assert ls() == LS
    assert ls("table") == LS


def test_no_trunc_table_widens_the_id_column() -> None:
    assert ls(items=[dict(it, ID=FULL_IDS[it["Name"]]) for it in ITEMS]) == LS_NOTRUNC


def test_table_template_builds_header_from_field_names() -> None:
    assert ls(r"table {{.Name}}\t{{.Driver}}") == LS_FORMAT_TABLE
    assert ls("table {{.Name}}\t{{.Driver}}") == LS_FORMAT_TABLE  # a real tab works too


def test_json_format_is_one_sorted_object_per_line() -> None:
    assert ls("{{json .}}") == LS_JSON
    assert ls("json") == LS_JSON


def test_quiet_prints_ids_only() -> None:
    assert ls(quiet=True, quiet_field="ID") == LS_Q
    assert ls(quiet=True) == LS_Q
    assert ls("table", quiet=True) == LS_Q
    assert ls("{{.Name}}", quiet=True).splitlines()[0] == "bridge"  # explicit format wins


def test_filters_driver_and_label_select_like_docker() -> None:
    filters = fmt.parse_filters(["driver=bridge", "label=env=dev"], listing.NETWORK_FILTERS)
    assert filters == {"driver": ["bridge"], "label": ["env=dev"]}
    kept = [it for it in ITEMS if listing.match_network_filters(network(it), filters)]
    assert ls(items=kept) == LS_FILTER


# ----------------------------------------------------------------- --format details


def test_template_without_table_has_no_header_and_keeps_tabs() -> None:
    assert ls(r"{{.Name}}\t{{.Scope}}", items=ITEMS[:2]) == "bridge\tlocal\ncustom\tlocal\n"


def test_empty_list_prints_only_the_header() -> None:
    assert ls(items=[]) == "NETWORK ID   NAME      DRIVER    SCOPE\n"
    assert ls("{{.Name}}", items=[]) == ""


def test_all_network_headers_and_label_method() -> None:
    item = dict(ITEMS[1], __labels__={"env": "dev", "com.example.some-key": "x"})
    out = ls(
        r"table {{.ID}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}"
        r'\t{{.Label "com.example.some-key"}}',
        items=[item],
    )
    assert out == (  # .Label's header is the key's last dotted part, "-"/"_" as spaces
        "NETWORK ID     IPV6      INTERNAL   LABELS             CREATED AT"
        "                                some key\n"
        "ef36114e0ec0   false     false      env=dev,team=net   "
        "2026-11-27 21:52:52.514980298 +0000 UTC   x\n"
    )
    assert ls('{{.Label "env"}}|{{.Label "nope"}}|', items=[item]) == "dev||\n"


def test_hidden_keys_stay_out_of_json() -> None:
    item = {"ID": "x", "Name": "n", "__labels__": {"a": "b"}}
    assert ls("json", items=[item]) == '{"ID":"x","Name":"n"}\n'


def test_container_headers() -> None:
    row = {
        "ID": "2e8b435efbff",
        "Image": "bb",
        "Names": "c1",
        "Status": "Up 2 minutes",
        "Ports": "0.0.0.0:8080->80/tcp",
        "Networks": "mynet",
    }
    out = fmt.format_list(
        [row],
        r"table {{.ID}}\t{{.Names}}\t{{.Networks}}\t{{.Ports}}",
        default_table=fmt.DEFAULT_CONTAINER_TABLE,
        headers=fmt.CONTAINER_HEADERS,
        type_name="*formatter.ContainerContext",
    )
    assert out == (
        "CONTAINER ID   NAMES     NETWORKS   PORTS\n2e8b435efbff   c1        mynet      0.0.0.0:8080->80/tcp\n"
    )


def test_partial_header_map_falls_back_to_dockers_titles() -> None:
    row = {"ID": "2e8b435efbff", "Image": "", "Names": "c1", "RunningFor": "2 minutes ago"}
    out = fmt.format_list(
        [row],
        fmt.DEFAULT_CONTAINER_TABLE.replace("{{.Command}}\t", "").replace("\t{{.Status}}\t{{.Ports}}", ""),
        default_table="",
        headers={"ID": "CONTAINER ID"},
    )
    assert out == ("CONTAINER ID   IMAGE     CREATED         NAMES\n2e8b435efbff             2 minutes ago   c1\n")


def test_unknown_field_is_dockers_template_error() -> None:
    with pytest.raises(gt.TemplateError) as info:
        ls("{{.Nope}}")
    assert info.value.message == (
        'template parsing error: template: :1:2: executing "" at <.Nope>: '
        "can't evaluate field Nope in type *network.networkContext"
    )
    with pytest.raises(gt.TemplateError) as info:
        ls("table {{nosuch .Name}}")
    assert info.value.message == 'template parsing error: template: :1: function "nosuch" not defined'


@pytest.mark.parametrize(
    "template",
    [
        r"{{.ID}}\t{{.Name}}",
        "{{ .Name }}:{{.Driver}}",
        "x {{.Scope}} y",
        "{{.CreatedAt}}",
        "plain",
    ],
)
def test_plain_field_fast_path_equals_template_engine(template: str) -> None:
    engine = "".join(gt.render(template.replace("\\t", "\t"), gt.Record(it)) + "\n" for it in ITEMS)
    assert ls(template) == engine
    assert fmt._simple_parts("{{- .Name}}") is None and fmt._simple_parts("{{.A.B}}") is None


def test_labels_string_is_sorted_key_value_pairs() -> None:
    assert fmt.labels_string({"team": "net", "env": "dev"}) == "env=dev,team=net"
    assert fmt.labels_string(None) == ""


# ----------------------------------------------------------------- tabwriter


def test_tabulate_pads_to_min_width_and_leaves_last_column_unpadded() -> None:
    assert fmt.tabulate(["A", "LONG HEADER", "Z"], [["1", "2", "3"], ["xxxxxxxxxxxx", "", ""]]) == (
        "A              LONG HEADER   Z\n1              2             3\nxxxxxxxxxxxx                 \n"
    )


def test_tabwrite_blocks_restart_after_a_line_without_tabs() -> None:
    text = "a\tb\nlong-cell-here\tc\nplain line\nx\ty\n"
    assert (
        fmt.tabwrite(text)
        == (
            "a" + " " * 16 + "b\n"  # 14 chars + 3 padding
            "long-cell-here   c\n"
            "plain line\n"
            "x         y\n"
        )
    )


def test_tabwrite_keeps_text_without_final_newline() -> None:
    assert fmt.tabwrite("a\tb") == "a         b"
    assert fmt.tabwrite("") == ""


# ----------------------------------------------------------------- inspect

INSPECT_FILES = [
    "inspect-custom.json",
    "inspect-default-bridge.json",
    "inspect-host.json",
    "inspect-internal.json",
    "inspect-none.json",
    "inspect-mynet-with-containers.json",
    "inspect-container-c1.json",
    "inspect-container-web1.json",
]


@pytest.mark.parametrize("name", INSPECT_FILES)
def test_inspect_default_output_equals_docker(name: str) -> None:
    text = (REFERENCE / name).read_text()
    assert fmt.format_inspect(json.loads(text), None) == text


def _custom() -> list[dict]:
    return [
        {
            "Name": "custom",
            "Id": "ef36114e0ec0",
            "Scope": "local",
            "Driver": "bridge",
            "IPAM": {
                "Driver": "default",
                "Options": {},
                "Config": [
                    {
                        "Subnet": "10.50.0.0/24",
                        "IPRange": "10.50.0.128/25",
                        "Gateway": "10.50.0.254",
                        "AuxiliaryAddresses": {"host1": "10.50.0.5"},
                    }
                ],
            },
            "Internal": False,
            "ConfigFrom": {"Network": ""},
            "Containers": {},
            "Options": {"com.docker.network.bridge.name": "br-custom"},
            "Labels": {"team": "net", "env": "dev"},
        }
    ]


def test_inspect_default_is_indented_array_in_object_order() -> None:
    out = fmt.format_inspect(_custom(), None)
    assert out.startswith('[\n    {\n        "Name": "custom",\n        "Id": "ef36114e0ec0",')
    assert '        "Containers": {},\n' in out
    assert out.endswith('            "team": "net",\n            "env": "dev"\n        }\n    }\n]\n')
    assert fmt.format_inspect([], None) == "[]\n"


def test_inspect_json_writes_numbers_and_escapes_like_go() -> None:
    objs = [{"Mtu": 1400, "Ratio": 1.0, "Big": 1e16, "Text": "<a&b>\u2028é", "None": None}]
    assert fmt.format_inspect(objs, "json") == (
        '[{"Mtu":1400,"Ratio":1,"Big":10000000000000000,"Text":"\\u003ca\\u0026b\\u003e\\u2028é","None":null}]\n'
    )
    no_floats = [{"Mtu": 1400, "Text": "<a&b>\u2028é\n", "L": [True, None]}]
    assert (
        fmt.format_inspect(no_floats, None) == gt.go_json(no_floats, indent="    ", keep_order=True, html=True) + "\n"
    )


def test_inspect_json_format_is_one_line() -> None:
    out = fmt.format_inspect(_custom(), "json")
    assert out.startswith('[{"Name":"custom","Id":"ef36114e0ec0",') and out.endswith("}]\n")
    assert "\n" not in out[:-1]


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{.Name}}", "custom\n"),
        ("{{.IPAM}}", "{default map[] [{10.50.0.0/24 10.50.0.128/25 10.50.0.254 map[host1:10.50.0.5]}]}\n"),
        (
            "{{json .IPAM.Config}}",
            '[{"Subnet":"10.50.0.0/24","IPRange":"10.50.0.128/25",'
            '"Gateway":"10.50.0.254","AuxiliaryAddresses":{"host1":"10.50.0.5"}}]\n',
        ),
        ("{{json .Labels}}", '{"env":"dev","team":"net"}\n'),
        ("{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", "env=dev team=net \n"),
        ('{{.Labels.env}} {{index .Options "com.docker.network.bridge.name"}}', "dev br-custom\n"),
        ("{{(index .IPAM.Config 0).Gateway}}", "10.50.0.254\n"),
        ("{{.ConfigFrom}} {{.Containers}}", "{} map[]\n"),
    ],
)
def test_inspect_template_renders_each_object(template: str, expected: str) -> None:
    assert fmt.format_inspect(_custom(), template) == expected


def test_inspect_template_errors() -> None:
    with pytest.raises(gt.TemplateError) as info:
        fmt.format_inspect(_custom(), "{{nosuch}}")
    assert info.value.message == 'Template parsing error: template: :1: function "nosuch" not defined'
    assert info.value.exit_code == 64
    two = _custom() + [dict(_custom()[0], Name="other", Extra="x")]
    with pytest.raises(gt.TemplateError) as info:
        fmt.format_inspect(two, "{{.Extra}}")
    assert info.value.message == (
        'Template parsing error: template: :1:2: executing "" at <.Extra>: map has no entry for key "Extra"'
    )
    assert info.value.output == "x\n"  # what Docker prints before the error
    assert info.value.exit_code == 1
    assert fmt.format_inspect([], "{{.Name}}") == "\n"


# ----------------------------------------------------------------- filters


def test_parse_filters_normalises_and_dedups() -> None:
    assert fmt.parse_filters([" Driver = bridge ", "driver=bridge", "label=a=b=c", ""], listing.NETWORK_FILTERS) == {
        "driver": ["bridge"],
        "label": ["a=b=c"],
    }


def test_parse_filters_errors_are_dockers() -> None:
    with pytest.raises(InvalidArgument) as info:
        fmt.parse_filters(["foo=bar"], listing.NETWORK_FILTERS)
    assert info.value.message == "Invalid filter 'foo'"
    assert info.value.render() == "Error response from daemon: Invalid filter 'foo'"
    with pytest.raises(fmt.FilterFormatError) as info:
        fmt.parse_filters(["driver"], listing.NETWORK_FILTERS)
    assert info.value.message == (
        'invalid argument "driver" for "-f, --filter" flag: bad format of filter (expected name=value)'
    )
    assert info.value.exit_code == 125
    assert isinstance(info.value, InvalidArgument)


def _names(values: list[str]) -> list[str]:
    filters = fmt.parse_filters(values, listing.NETWORK_FILTERS)
    return [n["name"] for n in map(network, ITEMS) if listing.match_network_filters(n, filters)]


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], ["bridge", "custom", "host", "internalnet", "mynet", "none", "v6net"]),
        (["driver=bridge"], ["bridge", "custom", "internalnet", "mynet", "v6net"]),
        (["driver=host", "driver=null"], ["host", "none"]),  # one key: OR
        (["driver=bridge", "name=net"], ["internalnet", "mynet", "v6net"]),  # keys: AND
        (["name=et"], ["internalnet", "mynet", "v6net"]),  # substring
        (["name=^my"], ["mynet"]),  # regexp, as Docker
        (["name=bridge"], ["bridge"]),
        (["id=ef36"], ["custom"]),
        (["id=" + FULL_IDS["mynet"]], ["mynet"]),
        (["label=env"], ["custom"]),
        (["label=env=dev"], ["custom"]),
        (["label=env=prod"], []),
        (["label=env", "label=team=net"], ["custom"]),  # labels: all must match
        (["label=env", "label=missing"], []),
        (["scope=local"], ["bridge", "custom", "host", "internalnet", "mynet", "none", "v6net"]),
        (["scope=swarm"], []),
        (["type=builtin"], ["bridge", "host", "none"]),
        (["type=custom"], ["custom", "internalnet", "mynet", "v6net"]),
        (["type=custom", "type=builtin"], ["bridge", "custom", "host", "internalnet", "mynet", "none", "v6net"]),
        (["dangling=true"], ["custom", "internalnet", "mynet", "v6net"]),
        (["dangling=false"], ["bridge", "host", "none"]),
    ],
)
def test_network_filters_select_like_docker(values: list[str], expected: list[str]) -> None:
    assert _names(values) == expected


def test_dangling_counts_containers() -> None:
    busy = dict(network(ITEMS[4]), containers=2)
    assert not listing.match_network_filters(busy, {"dangling": ["true"]})
    assert listing.match_network_filters(busy, {"dangling": ["false"]})


@pytest.mark.parametrize(
    "values, message",
    [
        (["type=foo"], "Invalid filter: 'type'='foo'"),
        (["dangling=maybe"], 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")'),
        (["dangling=true", "dangling=false"], 'got more than one value for filter key "dangling"'),
    ],
)
def test_bad_filter_values_fail_even_without_networks(values: list[str], message: str) -> None:
    filters = fmt.parse_filters(values, listing.NETWORK_FILTERS)
    no_networks = type("Reader", (), {"networks": lambda self: []})()
    with pytest.raises(InvalidArgument) as info:
        listing.networks(no_networks, filters)
    assert info.value.message == message


# ----------------------------------------------------------------- sorting


def test_natural_sort_orders_numbers_numerically() -> None:
    names = ["net10", "net2", "bridge", "net1", "Net3", "net02", "host"]
    assert sorted(names, key=listing.natural_sort_key) == ["Net3", "bridge", "host", "net1", "net2", "net02", "net10"]

"""The Go text/template subset behind ``--format``: output and error messages as Go's.

Expected strings are what Go's ``text/template`` (with docker/cli's functions) prints
for the same template and data.
"""

from __future__ import annotations

import pytest

from pynet.cli import gotemplate as gt
from pynet.errors import InvalidArgument

pytestmark = pytest.mark.unit

NET = {
    "Name": "custom",
    "Driver": "bridge",
    "Internal": False,
    "EnableIPv6": True,
    "IPAM": {"Driver": "default", "Options": {}, "Config": [{"Subnet": "10.50.0.0/24", "Gateway": "10.50.0.254"}]},
    "Options": {"com.docker.network.driver.mtu": "1400", "b": "2"},
    "Containers": {
        "c2": {"Name": "two", "IPv4Address": "10.50.0.3/24"},
        "c1": {"Name": "one", "IPv4Address": "10.50.0.2/24"},
    },
    "Labels": {},
    "Null": None,
    "Mtu": 1400,
    "Ratio": 0.25,
    "Big": 1e8,
    "Words": ["a", "b", "c"],
}


def render(template: str, data=NET) -> str:
    return gt.render(template, data)


def go_error(template: str, data=NET) -> str:
    with pytest.raises(gt.TemplateError) as info:
        gt.render(template, data)
    return info.value.go_error


@pytest.mark.parametrize(
    "template, expected",
    [
        # fields, nesting, dot, root
        ("{{.Name}}", "custom"),
        ("{{.IPAM.Driver}}", "default"),
        ("{{.Containers.c1.Name}}", "one"),
        ("{{$.Name}}", "custom"),
        ("{{with .IPAM}}{{.Driver}} {{$.Name}}{{end}}", "default custom"),
        ("plain text", "plain text"),
        # Go's default printing
        ("{{.Internal}} {{.EnableIPv6}}", "false true"),
        ("{{.Mtu}} {{.Ratio}} {{.Big}}", "1400 0.25 1e+08"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Null}}", "<no value>"),
        ("{{.Missing.Deeper}}", "<no value>"),
        ("{{.Words}}", "[a b c]"),
        ("{{.Options}}", "map[b:2 com.docker.network.driver.mtu:1400]"),
        ("{{.IPAM}}", "map[Config:[map[Gateway:10.50.0.254 Subnet:10.50.0.0/24]] Driver:default Options:map[]]"),
        ("{{.Labels}}", "map[]"),
        # pipelines and parentheses
        ("{{.Name | upper}}", "CUSTOM"),
        ('{{.Name | printf "%s-%d" | upper}}', "CUSTOM-%!D(MISSING)"),
        ("{{(index .IPAM.Config 0).Subnet}}", "10.50.0.0/24"),
        ("{{(index .IPAM.Config 0).Gateway | len}}", "11"),
        ('{{index .Options "com.docker.network.driver.mtu"}}', "1400"),
        ('{{index .Containers "c2" "Name"}}', "two"),
        ("{{index .Words 1}}", "b"),
        ('{{index .Options "nope"}}', ""),  # zero value of a map[string]string
        # variables
        ("{{$x := .Name}}{{$x}}", "custom"),
        ('{{$x := .Name}}{{$x = "other"}}{{$x}}', "other"),
        ("{{$c := index .IPAM.Config 0}}{{$c.Subnet}}", "10.50.0.0/24"),
        # range
        ("{{range .Containers}}{{.Name}} {{end}}", "one two "),
        ("{{range $k, $v := .Options}}{{$k}}={{$v}};{{end}}", "b=2;com.docker.network.driver.mtu=1400;"),
        ("{{range $i, $w := .Words}}{{$i}}{{$w}}{{end}}", "0a1b2c"),
        ("{{range $w := .Words}}{{$w}}{{end}}", "abc"),
        ("{{range .Labels}}x{{else}}none{{end}}", "none"),
        ("{{range .Missing}}x{{else}}none{{end}}", "none"),
        ('{{range .Words}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', "ac"),
        ('{{range .Words}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', "a"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        # if / else if / else, with
        ("{{if .Internal}}yes{{else}}no{{end}}", "no"),
        ('{{if eq .Driver "bridge"}}bridge{{end}}', "bridge"),
        ('{{if eq .Driver "host"}}h{{else if eq .Driver "bridge"}}b{{else}}o{{end}}', "b"),
        ('{{if eq .Driver "host" "bridge"}}one of{{end}}', "one of"),
        ("{{if and .Name (not .Internal)}}ok{{end}}", "ok"),
        ("{{with .Missing}}x{{else}}empty{{end}}", "empty"),
        ("{{with .Missing}}x{{else with .Name}}{{.}}{{end}}", "custom"),
        # trim markers and comments
        ("a  {{- .Name -}}  b", "acustomb"),
        ('{{- " x " -}}', " x "),
        ("a {{/* comment */}} b", "a  b"),
        ("a {{- /* comment */ -}} b", "ab"),
        ("{{.Name}}\n{{- range .Words}}\n  {{.}}{{end}}", "custom\n  a\n  b\n  c"),
        # literals
        ('{{"tab\\there \\"q\\" \\u00e9"}}', 'tab\there "q" é'),
        ("{{`raw \\n`}}", "raw \\n"),
        ("{{'a'}} {{0x1F}} {{0o17}} {{1_000}} {{-5}} {{+3}} {{1e3}} {{2.50}}", "97 31 15 1000 -5 3 1000 2.5"),
        ("{{true}} {{false}}", "true false"),
        # Go built-ins
        ('{{len .Words}} {{len .Options}} {{len "héllo"}}', "3 2 6"),
        ('{{and 1 0 2}} {{and 1 2}} {{or 0 "" "z"}} {{or 0 ""}}', "0 2 z "),
        ("{{not .Internal}} {{not .Name}}", "true false"),
        ('{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', "true true true true false"),
        ('{{print "a" 1 2 "b" true}}', "a1 2btrue"),
        ('{{println "a" 1}}', "a 1\n"),
        ('{{slice "abcdef" 1 3}} {{slice .Words 1}}', "bc [b c]"),
        ("{{html \"<a href='x'>&\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;"),
        ('{{js "it\'s <b>"}}', "it\\'s \\u003Cb\\u003E"),
        ('{{urlquery "a b&c"}}', "a+b%26c"),
        # Docker's functions
        (
            "{{json .IPAM}}",
            '{"Config":[{"Gateway":"10.50.0.254","Subnet":"10.50.0.0/24"}],"Driver":"default","Options":{}}',
        ),
        (
            "{{json .Name}} {{json .Mtu}} {{json .Ratio}} {{json .Null}} {{json .Words}}",
            '"custom" 1400 0.25 null ["a","b","c"]',
        ),
        ('{{json "<&>"}}', '"<&>"'),
        ('{{join .Words ", "}}', "a, b, c"),
        ('{{split "a:b:c" ":"}} {{join (split "x-y" "-") "+"}}', "[a b c] x+y"),
        ('{{split "abc" ""}}', "[a b c]"),
        ('{{lower "AbC"}} {{upper "AbC"}} {{title "hello big-world"}}', "abc ABC Hello Big-World"),
        ('[{{pad .Name 2 1}}] [{{pad "" 2 1}}]', "[  custom ] []"),
        ("{{truncate .Name 3}} {{truncate .Name 30}}", "cus custom"),
    ],
)
def test_renders_like_go(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    "template, expected",
    [
        ('{{printf "%s|%5s|%-5s|%.2s" "ab" "ab" "ab" "abc"}}', "ab|   ab|ab   |ab"),
        (
            '{{printf "%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c" 42 42 42 -42 42 255 255 8 5 65}}',
            "42|   42|42   |-0042|+42|ff|FF|10|101|A",
        ),
        ('{{printf "%v %v %v %v" 1 "s" true .Words}}', "1 s true [a b c]"),
        ('{{printf "%q %q" "a\\"b" 65}}', '"a\\"b" \'A\''),
        (
            '{{printf "%.2f %e %g %g %f" 3.14159 1234.5 0.00001 100000000.0 1.5}}',
            "3.14 1.234500e+03 1e-05 1e+08 1.500000",
        ),
        ('{{printf "%t %T %T %T" true 1 "x" .Options}}', "true int string map[string]interface {}"),
        ('{{printf "%d%%" 50}}', "50%"),
        ('{{printf "%d %s" 1}}', "1 %!s(MISSING)"),
        ('{{printf "%d" "x"}}', "%!d(string=x)"),
        ('{{printf "%s" 1 2}}', "%!s(int=1)%!(EXTRA int=2)"),
        ('{{printf "%v" .Null}}', "<nil>"),
        ('{{printf "%x" "hi"}}', "6869"),
    ],
)
def test_printf_follows_go_fmt(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    "template, message",
    [
        # parse errors: template: NAME:LINE: MSG
        ("{{foo}}", 'template: :1: function "foo" not defined'),
        ("{{.Name | nosuch}}", 'template: :1: function "nosuch" not defined'),
        ("{{.Name", "template: :1: unclosed action"),
        ("{{.Name}", "template: :1: bad character U+007D '}'"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        ("{{if .Name}}x", "template: :1: unexpected EOF"),
        ("{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{with $x := 1}}{{end}}{{$x}}", 'template: :1: undefined variable "$x"'),
        ("{{}}", "template: :1: missing value for command"),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        ('{{"a" | "b"}}', "template: :1: non executable command in pipeline stage 2"),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ('{{ "abc }}', "template: :1: unterminated quoted string"),
        ("{{ # }}", 'template: :1: unexpected "#" in command'),
        ("{{(.Name}}", "template: :1: unclosed left paren"),
        ("{{.Name)}}", 'template: :1: unexpected ")" in command'),
        ("{{1a}}", 'template: :1: bad number syntax: "1a"'),
        ("{{/* x }}", "template: :1: unclosed comment"),
        ("line one\n{{.Name}}\n{{nosuch}}", 'template: :3: function "nosuch" not defined'),
        # execution errors: template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG
        ('{{.Name "a"}}', 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'),
        ("{{.Name.Foo}}", 'template: :1:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type string'),
        ("{{.Null.Foo}}", 'template: :1:7: executing "" at <.Null.Foo>: nil pointer evaluating interface {}.Foo'),
        (
            "{{index .IPAM.Config 5}}",
            'template: :1:2: executing "" at <index .IPAM.Config 5>: error calling index: index out of range: 5',
        ),
        (
            '{{index .Name "x"}}',
            'template: :1:2: executing "" at <index .Name "x">: '
            "error calling index: cannot index slice/array with type string",
        ),
        ("{{range .Name}}{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over custom'),
        ("{{lower 3}}", 'template: :1:8: executing "" at <3>: expected string; found 3'),
        (
            "{{lower .Internal}}",
            'template: :1:8: executing "" at <.Internal>: wrong type for value; expected string; got bool',
        ),
        ("{{lower .Missing}}", 'template: :1:8: executing "" at <.Missing>: invalid value; expected string'),
        (
            '{{join .Options ","}}',
            'template: :1:7: executing "" at <.Options>: '
            "wrong type for value; expected []string; got map[string]interface {}",
        ),
        ('{{truncate .Name "x"}}', 'template: :1:17: executing "" at <"x">: expected integer; found "x"'),
        (
            "{{printf}}",
            'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0',
        ),
        ("{{upper}}", 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0'),
        (
            '{{eq 1 "a"}}',
            'template: :1:2: executing "" at <eq 1 "a">: error calling eq: incompatible types for comparison',
        ),
        ("{{len 3}}", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
        ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
        ("{{3 .Name}}", 'template: :1:2: executing "" at <3>: can\'t give argument to non-function 3'),
        (
            "{{.IPAM.Config.Foo.Bar.Baz}}",
            'template: :1:7: executing "" at <.IPAM.Config.Foo.Bar...>: '
            "can't evaluate field Foo in type []interface {}",
        ),
        ("x\n  {{.Name.Foo}}", 'template: :2:9: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type string'),
    ],
)
def test_errors_read_like_go(template: str, message: str) -> None:
    assert go_error(template) == message


def test_template_error_is_invalid_argument_worded_like_docker() -> None:
    with pytest.raises(InvalidArgument) as info:
        gt.render("{{foo}}", {})
    err = info.value
    assert isinstance(err, gt.TemplateError)
    assert err.message == 'Template parsing error: template: :1: function "foo" not defined'
    assert err.render() == err.message  # Docker prints it without an "Error:" prefix
    assert err.exit_code == 1


def test_execution_error_keeps_partial_output() -> None:
    with pytest.raises(gt.TemplateError) as info:
        gt.render("before {{.Name.Foo}} after", NET)
    assert info.value.output == "before "
    assert gt.compile("a{{.Name.Foo}}b").execute(NET, partial=True) == "a"


def test_compile_caches_and_reuses_templates() -> None:
    tmpl = gt.compile("{{.Name}}-cached")
    assert gt.compile("{{.Name}}-cached") is tmpl
    assert tmpl.execute({"Name": "a"}) == "a-cached"
    assert tmpl.execute({"Name": "b"}) == "b-cached"


def test_record_fields_methods_and_strictness() -> None:
    rec = gt.Record(
        {"Name": "n1", "Labels": "env=dev"},
        type_name="*network.networkContext",
        methods={"Label": (lambda k: {"env": "dev"}.get(k, ""), 1)},
    )
    assert gt.render('{{.Name}} {{.Label "env"}}[{{.Label "x"}}]', rec) == "n1 dev[]"
    assert gt.render("{{json .}}", rec) == '{"Labels":"env=dev","Name":"n1"}'
    with pytest.raises(gt.TemplateError) as info:
        gt.render("{{.Nope}}", rec)
    assert info.value.go_error == (
        'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *network.networkContext'
    )
    with pytest.raises(gt.TemplateError) as info:
        gt.render("{{.Label}}", rec)
    assert info.value.go_error.endswith("wrong number of args for Label: want 1 got 0")
    loose = gt.Record({"ID": "NETWORK ID"}, strict=False)
    assert gt.render("{{.ID}} {{.Other}}", loose) == "NETWORK ID <no value>"


def test_structs_print_and_encode_like_typed_go_structs() -> None:
    obj = gt.as_structs(
        {
            "Name": "n",
            "IPAM": {"Driver": "default", "Options": {}, "Config": [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]},
            "Labels": {"Zed": "1", "Alpha": "2"},
            "Containers": {"abc": {"Name": "c1", "IPv4Address": "10.0.0.2/24"}},
        }
    )
    assert gt.render("{{.IPAM}}", obj) == "{default map[] [{10.0.0.0/24 10.0.0.1}]}"
    assert gt.render("{{.Containers}}", obj) == "map[abc:{c1 10.0.0.2/24}]"
    assert gt.render("{{.Labels}}", obj) == "map[Alpha:2 Zed:1]"  # a map, despite its keys
    # struct fields keep their order in json, map keys are sorted
    assert gt.render("{{json .}}", obj) == (
        '{"Name":"n","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.0.0.0/24",'
        '"Gateway":"10.0.0.1"}]},"Labels":{"Alpha":"2","Zed":"1"},'
        '"Containers":{"abc":{"Name":"c1","IPv4Address":"10.0.0.2/24"}}}'
    )
    # an omitempty field of Docker's types reads as its zero value, an unknown one fails
    assert gt.render("[{{(index .IPAM.Config 0).IPRange}}]", obj) == "[]"
    with pytest.raises(gt.TemplateError) as info:
        gt.render("{{.Nope}}", obj)
    assert info.value.go_error == 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'


def test_header_functions_keep_column_names() -> None:
    tmpl = gt.compile("{{upper .Name}}\t{{json .Driver}}\t{{truncate .ID 3}}\t{{pad .Scope 1 1}}")
    header = {"Name": "NAME", "Driver": "DRIVER", "ID": "NETWORK ID", "Scope": "SCOPE"}
    assert tmpl.execute(header, funcs=gt.HEADER_FUNCS) == "NAME\tDRIVER\tNETWORK ID\t SCOPE "


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"b": 1, "a": [1.5, None, True, 'x\n"<>&\u2028']}, '{"a":[1.5,null,true,"x\\n\\"<>&\\u2028"],"b":1}'),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (123456789.0, "123456789"),
        (0.1, "0.1"),
        (-0.0, "-0"),
        ("é\x01", '"é\\u0001"'),
    ],
)
def test_go_json_matches_encoding_json(value, expected: str) -> None:
    assert gt.go_json(value) == expected


def test_go_json_keep_order_indent_and_html() -> None:
    value = [{"Z": "<x>", "A": {}, "L": []}]
    assert gt.go_json(value, indent="    ", keep_order=True, html=True) == (
        '[\n    {\n        "Z": "\\u003cx\\u003e",\n        "A": {},\n        "L": []\n    }\n]'
    )


def test_go_print_defaults() -> None:
    assert gt.go_print(None) == "<no value>"
    assert gt.go_print({"b": [1, 2.5], "a": False}) == "map[a:false b:[1 2.5]]"
    assert gt.go_print(1234567.0) == "1.234567e+06"
    assert gt.go_print(float("inf")) == "+Inf"

"""A compact interpreter for the part of Go's ``text/template`` that Docker users type.

``docker ... --format '{{...}}'`` runs a Go template over the listed objects; pynet
accepts the same strings. This module follows Go's own lexer/parser/executor
(``text/template/parse`` and ``exec.go``) closely so that output *and error messages*
match: ``template: :1: function "foo" not defined``, ``template: :1:2: executing ""
at <.Foo>: map has no entry for key "Foo"`` and so on.

Supported: text, ``{{.A.B}}``, ``{{.}}``, ``$`` and ``$x`` variables (``:=`` and ``=``),
pipelines ``|``, parentheses with field chains ``(index .X 0).Y``, literals (strings
``"..."`` with Go escapes, raw strings, chars, numbers, ``true``/``false``/``nil``),
``if``/``else if``/``else``, ``with``/``else with``, ``range`` (lists, maps in sorted key
order, ints; ``else``; ``break``/``continue``), comments and the ``{{-``/``-}}`` trim markers.
Functions: Go's built-ins (``and or not len index slice print printf println eq ne lt
le gt ge html js urlquery call``) and Docker's (``json split join title lower upper pad
truncate``). ``define``/``template``/``block`` are not supported.

Data model: Python values stand for Go values. ``dict`` is a Go map (printed
``map[k:v]`` with sorted keys, sorted in ``json``; a missing key gives ``<no value>``),
``list`` a slice (``[a b]``), ``None`` a JSON null. :class:`Struct` is a Go struct, like
Docker's typed inspect structs: it prints ``{v1 v2}``, keeps its key order in ``json``
and a missing field is an error; :func:`as_structs` marks the structs of an inspect
object. :class:`Record` is a Go struct with methods, like Docker's
``*network.networkContext`` behind ``ls --format``: a missing field is an error and
``methods`` take arguments (``{{.Label "env"}}``).

Only the standard library is used and nothing heavy is imported: this runs on the
read-only ``ls``/``inspect`` paths.

Layout: ``lexer`` -> ``parser`` (``nodes``) -> ``executor`` (``functions``, ``printf``), over
the data model in ``values``; ``printing`` is Go's ``fmt``/``encoding/json`` output,
``errors`` the exceptions and ``template`` the API re-exported here.
"""

from __future__ import annotations

from pynet.cli.gotemplate.errors import TemplateError
from pynet.cli.gotemplate.functions import BUILTINS, HEADER_FUNCS
from pynet.cli.gotemplate.printing import go_json, go_print
from pynet.cli.gotemplate.template import Template, compile, render
from pynet.cli.gotemplate.values import DOCKER_MAP_FIELDS, MISSING, Record, Struct, as_structs

__all__ = [
    "BUILTINS",
    "DOCKER_MAP_FIELDS",
    "HEADER_FUNCS",
    "MISSING",
    "Record",
    "Struct",
    "Template",
    "TemplateError",
    "as_structs",
    "compile",
    "render",
    "go_json",
    "go_print",
]

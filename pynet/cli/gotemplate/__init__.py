"""A compact interpreter for the part of Go's ``text/template`` that Docker users type.

Follows Go's lexer/parser/executor closely so that output *and error messages* match;
standard library only (it runs on the read-only paths). The supported subset, the data
model (maps, slices, ``Struct``, ``Record``) and the module layout: docs/output.md.
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

"""What `network create` and `network rm` must not load (design.md, "Start-up"), shared by
the unit guard (tests/unit/test_deferred_modules.py) and the real commands' guard
(tests/integration/test_create_imports.py)."""

#: `copy` (with `weakref`), `re` (with `enum`), `json`, `pathlib` (with `fnmatch`), `socket`
#: (with `selectors`), `signal`, `importlib` (with `warnings`), besides what no command
#: path may load
CREATE_HEAVY = (
    "copy",
    "weakref",
    "re",
    "enum",
    "json",
    "pathlib",
    "fnmatch",
    "socket",
    "selectors",
    "signal",
    "importlib",
    "warnings",
    "typing",
    "inspect",
    "urllib.parse",
    "click",
    "pyroute2",
    "rich",
    "yaml",
)

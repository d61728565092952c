import sys

if sys.argv[1:2] == ["network"]:
    from pynet.warm.client import delegate

    delegate(sys.argv[1:])  # the mutating verbs may run in a warm server's child (design.md)

from pynet.cli.main import entry  # noqa: E402

entry()

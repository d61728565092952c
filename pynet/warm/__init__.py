"""The warm server: the mutating network commands run in a child of a pre-imported pynet.

``bin/pynet`` asks :mod:`pynet.warm.client` first; the server is :mod:`pynet.warm.server`;
what both must agree on (the identity, file names, the served commands) is
:mod:`pynet.warm.identity`. docs/design.md, "Warm server".
"""

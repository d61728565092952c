"""The Docker Engine API front door: ``pynet system service`` (docs/engine-api.md).

Like ``pynet.cli`` it parses, calls ONE core operation through ``pynet.wiring`` and
renders; it never talks to the kernel or the store itself.
"""

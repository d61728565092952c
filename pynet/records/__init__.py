"""The leaf package of records and options every layer may import.

CNM records (``model``), Docker's option keys and checks (``options``) and the pure
``-p``/``--expose`` spec parsing (``ports``), the flag and field values Docker refuses
(``inputs``: both front doors check them), and the ``UndoLog`` drivers and the firewall
write to (``undo``). It imports nothing of pynet but ``pynet.errors``.
"""

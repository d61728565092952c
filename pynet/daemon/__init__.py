"""The per-host helper daemon (``python -m pynet.daemon``) and its client.

Keep this package's ``__init__`` empty of imports: the CLI imports ``client`` on
mutating paths and must stay light.
"""

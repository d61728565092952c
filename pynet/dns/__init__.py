"""The embedded DNS server's logic (wire format, name tables, answers); no sockets here.

The per-host helper daemon (``pynet.daemon``) owns the sockets and calls into this.
See ``docs/dns.md``.
"""

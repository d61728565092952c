"""``pynet network diagnose``: why SRC can (not) reach DST — the path walked, judged and probed.

``walk`` gathers facts through pynet.kernel and judges them in packet order, ``nftpath``
evaluates other firewall tables, ``verdict`` holds the causes and combines prediction and
probe. docs/diagnose.md.
"""

from __future__ import annotations

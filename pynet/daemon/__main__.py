"""``python -m pynet.daemon``: start the per-host helper in the foreground."""

import sys

from pynet.daemon.main import main

sys.exit(main())

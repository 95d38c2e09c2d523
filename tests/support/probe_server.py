"""`python -m tests.support.probe_server`: the real `serve` (configured by BOT__... variables
as `python -m bot serve` is) with the probe journey added, for tests that run, kill and restart
the server as a subprocess and count what it processed. PROBE_DELAY: seconds each probe step
takes (default 0)."""

import os
import sys

from bot.__main__ import serve
from bot.config import load_settings
from flows import ALL_FLOWS
from tests.support.probe import Probe

if __name__ == "__main__":
    probe = Probe(delay=float(os.environ.get("PROBE_DELAY", "0")))
    sys.exit(serve(load_settings(), [*ALL_FLOWS, probe.flow]))

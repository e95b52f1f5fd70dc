"""Progress of long steps, for whoever watches in this process (the `pfpw run` terminal); a no-op otherwise.

Ingestion reports each file it has looked at; the CLI draws a bar from it when its terminal is
interactive. Runs launched by the daemon or the UI have no listener, and nothing is drawn.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str, int, int], None]  # (label, done, total)
_listener: Listener | None = None


def set_listener(listener: Listener | None) -> None:
    global _listener
    _listener = listener


class Counter:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, total, 0
        self.step(0)

    def set_total(self, total: int) -> None:
        self.total = total
        self.step(0)

    def step(self, n: int = 1) -> None:
        self.done += n
        if _listener is not None:
            _listener(self.label, self.done, self.total)

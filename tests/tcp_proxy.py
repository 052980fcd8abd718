"""A TCP proxy on loopback that a test can cut: stands between the app and a real server
(PostgreSQL here) to make an outage, or drop one connection mid-query, on demand."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the target. `cut()` closes every connection and refuses
    new ones until `restore()`; `drop_next(marker)` closes the first connection whose client
    sends bytes containing `marker`, before they reach the server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._open = True
        self._marker: bytes | None = None
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._open = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(*pair)

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def drop_next(self, marker: bytes) -> None:
        with self._lock:
            self._marker = marker

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                refused = not self._open
            if refused:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if upstream and self._should_drop(chunk):
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        _close(source, sink)

    def _should_drop(self, chunk: bytes) -> bool:
        with self._lock:
            if self._marker is None or self._marker not in chunk:
                return False
            self._marker = None
            self.dropped += 1
            return True


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

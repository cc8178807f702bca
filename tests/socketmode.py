"""A minimal Socket Mode server of our own (plain WebSocket on loopback) for testing
``kmbot socket`` as a real process."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeServer:
    """Accepts one Socket Mode connection, sends envelopes and records the acks it gets back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._changed = threading.Condition()
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        """The ws:// address apps.connections.open hands out."""
        return f"ws://127.0.0.1:{self.port}/link"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            key = ""
            for line in request.decode("latin-1").split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            self._conn = conn
            self.send(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0KMBOT"}}
            )
            self.connected.set()
            self._read(conn)

    def _read(self, conn: socket.socket) -> None:
        buffer = b""
        while not self._stop:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                frame = _parse(buffer)
                if frame is None:
                    break
                opcode, payload, used = frame
                buffer = buffer[used:]
                if opcode == 0x9:  # ping
                    self._frame(0xA, payload)
                elif opcode == 0x1:
                    with self._changed:
                        self.acks.append(json.loads(payload.decode()))
                        self._changed.notify_all()
                elif opcode == 0x8:
                    return

    def _frame(self, opcode: int, data: bytes) -> None:
        assert self._conn is not None
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        self._conn.sendall(head + data)

    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the app."""
        self._frame(0x1, json.dumps(message).encode())

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: any(a.get("envelope_id") == envelope_id for a in self.acks), timeout
            )
            assert ok, f"no ack for {envelope_id}; got {self.acks}"
            return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    def close(self) -> None:
        """Stop serving."""
        self._stop = True
        self.sock.close()
        if self._conn is not None:
            self._conn.close()


def _parse(buf: bytes) -> tuple[int, bytes, int] | None:
    if len(buf) < 2:
        return None
    opcode = buf[0] & 0x0F
    masked = buf[1] & 0x80
    n = buf[1] & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack(">H", buf[2:4])[0]
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack(">Q", buf[2:10])[0]
        pos = 10
    mask = b""
    if masked:
        if len(buf) < pos + 4:
            return None
        mask = buf[pos : pos + 4]
        pos += 4
    if len(buf) < pos + n:
        return None
    data = bytearray(buf[pos : pos + n])
    if masked:
        for i in range(n):
            data[i] ^= mask[i % 4]
    return opcode, bytes(data), pos + n

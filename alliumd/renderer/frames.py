"""Length-prefixed frames on a pipe: the renderer ↔ render worker wire format.

A frame is a 4-byte big-endian length followed by that many bytes (a
pickle, or the worker's ready marker).  Blocking helpers for the worker
side; the renderer side reads and writes non-blockingly (see pool.py) with
:class:`FrameReader`.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

_HEADER = struct.Struct(">I")


def encode(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(encode(payload))
    stream.flush()


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame, or None at EOF (a frame cut short counts as EOF)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


class FrameReader:
    """Accumulates bytes read from a non-blocking pipe and yields complete frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + size
            if len(self._buffer) < end:
                break
            frames.append(bytes(self._buffer[_HEADER.size:end]))
            del self._buffer[:end]
        return frames

"""Compressed layer streams: detect, verify, decompress, within caps.

Owns the bytes-level half of layer reading: :class:`HashingSource` hashes the
blob exactly as read (its digest is the layer digest), :func:`detect_compression`
looks at magic bytes (never at the media type, which registries get wrong), and
:func:`decompressed_chunks` yields the uncompressed tar stream in bounded chunks
while enforcing the bomb caps of :class:`~ballast.layers.limits.LayerLimits`.
gzip includes multi-member streams (estargz); zstd uses ``zstandard``.
Imports only ``ballast._errors`` and the limits.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Protocol, cast

import zstandard

from ballast._errors import LayerError

if TYPE_CHECKING:
    from ballast.layers.limits import LayerLimits

READ_BYTES = 1 << 20
"""Compressed bytes asked from the source per read."""
CHUNK_BYTES = 1 << 20
"""Largest uncompressed chunk handed to the tar scanner."""

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_UNSUPPORTED_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x04\x22\x4d\x18": "lz4",
}


class ByteSource(Protocol):
    """Anything with ``read(n)`` that returns at most n bytes and ``b""`` at the end."""

    def read(self, size: int, /) -> bytes: ...


class ChunkSource:
    """Adapts an iterator of byte chunks (``httpx.Response.iter_raw()``) to ``read(n)``."""

    __slots__ = ("_chunks", "_pending")

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def read(self, size: int = READ_BYTES, /) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = bytes(chunk)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


class Compression(StrEnum):
    """How a layer blob is compressed, as told by its first bytes."""

    GZIP = "gzip"
    """gzip, one or more members (estargz is gzip with a member per file)."""
    ZSTD = "zstd"
    """Zstandard, one or more frames."""
    NONE = "none"
    """A plain tar stream."""


def detect_compression(head: bytes, *, layer_digest: str = "") -> Compression:
    """Name the compression of a blob from its first bytes.

    Raises :class:`LayerError` for compressions that OCI does not allow in
    layers (bzip2, xz, lz4), so that the message names them.
    """
    if head.startswith(_GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(_ZSTD_MAGIC):
        return Compression.ZSTD
    for magic, name in _UNSUPPORTED_MAGIC.items():
        if head.startswith(magic):
            raise LayerError(
                f"layer {layer_digest or '(unnamed)'} is {name}-compressed; OCI layers are "
                "plain tar, gzip or zstd: rebuild or re-push the image with a standard tool",
                layer_digest=layer_digest,
            )
    return Compression.NONE


def digest_algorithm(digest: str) -> str:
    """The hashlib name for an OCI digest (``sha256:...`` → ``sha256``); sha256 if empty."""
    if not digest:
        return "sha256"
    algorithm, sep, _ = digest.partition(":")
    if not sep or algorithm not in ("sha256", "sha512"):
        raise LayerError(
            f"unsupported digest {digest!r}: expected sha256:<hex> or sha512:<hex>",
            layer_digest=digest,
        )
    return algorithm


class HashingSource:
    """Reads a blob in chunks, hashing and counting every byte that passes.

    The hash is of the bytes as read (compressed), so it is the blob digest a
    manifest names. ``expected_size`` (from a descriptor) stops a source that
    sends more than it should as soon as it does.
    """

    __slots__ = ("_expected_size", "_hash", "_layer_digest", "_pending", "_source", "bytes_read")

    def __init__(
        self,
        source: ByteSource,
        *,
        algorithm: str = "sha256",
        expected_size: int | None = None,
        layer_digest: str = "",
    ) -> None:
        self._source = source
        self._hash = hashlib.new(algorithm)
        self._expected_size = expected_size
        self._layer_digest = layer_digest
        self._pending = b""
        self.bytes_read = 0
        """Bytes read from the source so far (the compressed size once drained)."""

    def _pull(self, size: int) -> bytes:
        try:
            data = self._source.read(size)
        except OSError as exc:
            raise LayerError(
                f"reading layer {self._layer_digest or '(unnamed)'} failed: {exc}",
                layer_digest=self._layer_digest,
            ) from exc
        if data:
            self._hash.update(data)
            self.bytes_read += len(data)
            if self._expected_size is not None and self.bytes_read > self._expected_size:
                raise LayerError(
                    f"layer {self._layer_digest or '(unnamed)'} is longer than the "
                    f"{self._expected_size} bytes its descriptor declares",
                    layer_digest=self._layer_digest,
                )
        return data

    def peek(self, size: int) -> bytes:
        """Return up to ``size`` leading bytes without consuming them."""
        while len(self._pending) < size:
            data = self._pull(size - len(self._pending))
            if not data:
                break
            self._pending += data
        return self._pending[:size]

    def read(self, size: int = READ_BYTES, /) -> bytes:
        """Return up to ``size`` bytes (``b""`` at the end), hashing them on the way."""
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._pull(size)

    def hexdigest(self) -> str:
        """Hex digest of everything read so far."""
        return self._hash.hexdigest()


def decompressed_chunks(
    source: HashingSource,
    compression: Compression,
    *,
    limits: LayerLimits,
    layer_digest: str = "",
    uncompressed_hash: hashlib._Hash | None = None,
) -> Iterator[bytes]:
    """Yield the uncompressed stream in chunks of at most :data:`CHUNK_BYTES`.

    Enforces ``max_uncompressed_bytes`` and ``max_ratio`` as the bytes appear,
    so a bomb stops after at most one chunk past its cap. A stream that ends
    before its compression format says it is complete raises ``LayerError``.
    """
    if compression is Compression.GZIP:
        chunks = _gunzip(source, layer_digest)
    elif compression is Compression.ZSTD:
        chunks = _unzstd(source, limits, layer_digest)
    else:
        chunks = iter(lambda: source.read(READ_BYTES), b"")
    total = 0
    cap = limits.max_uncompressed_bytes
    grace = limits.ratio_grace_bytes
    ratio = limits.max_ratio
    for chunk in chunks:
        total += len(chunk)
        if total > cap:
            raise LayerError(
                f"layer {layer_digest or '(unnamed)'} unpacks to more than {cap} bytes "
                "(decompression bomb?); raise max_uncompressed_bytes if it is genuine",
                layer_digest=layer_digest,
            )
        if total > grace and total > ratio * max(source.bytes_read, 1):
            raise LayerError(
                f"layer {layer_digest or '(unnamed)'} unpacks {total} bytes from "
                f"{source.bytes_read} (more than {ratio}:1, decompression bomb?); "
                "raise max_ratio if it is genuine",
                layer_digest=layer_digest,
            )
        if uncompressed_hash is not None:
            uncompressed_hash.update(chunk)
        yield chunk


def _truncated(layer_digest: str, what: str) -> LayerError:
    return LayerError(
        f"layer {layer_digest or '(unnamed)'} is truncated: the {what} stream ends early; "
        "the download or archive is incomplete, fetch it again",
        layer_digest=layer_digest,
    )


def _gunzip(source: HashingSource, layer_digest: str) -> Iterator[bytes]:
    """Inflate one or more concatenated gzip members (estargz has one per file)."""
    decoder: zlib._Decompress | None = zlib.decompressobj(wbits=31)
    data = b""
    try:
        while True:
            if not data:
                if decoder is not None:
                    # Output can be pending inside zlib after the input ran out.
                    out = decoder.decompress(b"", CHUNK_BYTES)
                    if out:
                        yield out
                        continue
                data = source.read(READ_BYTES)
                if not data:
                    break
            if decoder is None:
                if not data.startswith(_GZIP_MAGIC[: len(data)]):
                    raise LayerError(
                        f"layer {layer_digest or '(unnamed)'} has bytes after its gzip "
                        "stream that are not gzip: the blob is corrupt",
                        layer_digest=layer_digest,
                    )
                decoder = zlib.decompressobj(wbits=31)
            out = decoder.decompress(data, CHUNK_BYTES)
            if out:
                yield out
            if decoder.eof:
                data = decoder.unused_data
                decoder = None
            else:
                data = decoder.unconsumed_tail
    except zlib.error as exc:
        raise LayerError(
            f"layer {layer_digest or '(unnamed)'} is not valid gzip: {exc}",
            layer_digest=layer_digest,
        ) from exc
    if decoder is not None:
        raise _truncated(layer_digest, "gzip")


def _unzstd(source: HashingSource, limits: LayerLimits, layer_digest: str) -> Iterator[bytes]:
    """Decode one or more zstd frames with a bounded window.

    ``zstandard``'s stream reader returns quietly at the end of a truncated
    frame, so :class:`_ZstdFrames` walks the frame and block headers of the
    compressed bytes on the way in and tells whether the stream ended on a
    frame boundary.
    """
    frames = _ZstdFrames(source)
    decompressor = zstandard.ZstdDecompressor(max_window_size=limits.max_zstd_window_bytes)
    try:
        with decompressor.stream_reader(
            cast(IO[bytes], frames), read_size=READ_BYTES, read_across_frames=True, closefd=False
        ) as reader:
            while True:
                out = reader.read(CHUNK_BYTES)
                if not out:
                    break
                yield out
    except zstandard.ZstdError as exc:
        raise LayerError(
            f"layer {layer_digest or '(unnamed)'} is not valid zstd: {exc}",
            layer_digest=layer_digest,
        ) from exc
    # Drain what the decoder did not ask for, so the digest covers the whole blob.
    while frames.read(READ_BYTES):
        pass
    if not frames.is_complete():
        raise _truncated(layer_digest, "zstd")


_ZSTD_SKIPPABLE_MASK = 0xFFFFFFF0
_ZSTD_SKIPPABLE = 0x184D2A50
_ZSTD_FRAME = 0xFD2FB528


class _ZstdFrames:
    """Passes bytes through while tracking zstd frame boundaries (RFC 8878 §3.1).

    Only headers are looked at: frame header, 3-byte block headers, skippable
    frame sizes and the optional checksum; block contents are skipped by count.
    """

    __slots__ = ("_buf", "_checksum", "_frames", "_need", "_skip", "_source", "_state")

    # States: what the next ``_need`` header bytes are.
    _MAGIC, _SKIP_SIZE, _DESCRIPTOR, _HEADER_REST, _BLOCK, _CHECKSUM = range(6)

    def __init__(self, source: HashingSource) -> None:
        self._source = source
        self._buf = b""
        self._state = self._MAGIC
        self._need = 4
        self._skip = 0
        self._checksum = False
        self._frames = 0

    def read(self, size: int = READ_BYTES, /) -> bytes:
        data = self._source.read(size)
        if data:
            self._feed(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def is_complete(self) -> bool:
        """True when the bytes so far end exactly after a whole frame."""
        return self._frames > 0 and self._state == self._MAGIC and not self._buf and not self._skip

    def _feed(self, data: bytes) -> None:
        pos = 0
        end = len(data)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            take = min(self._need - len(self._buf), end - pos)
            self._buf += data[pos : pos + take]
            pos += take
            if len(self._buf) == self._need:
                header, self._buf = self._buf, b""
                self._advance(header)

    def _advance(self, header: bytes) -> None:
        state = self._state
        if state == self._MAGIC:
            magic = int.from_bytes(header, "little")
            if magic == _ZSTD_FRAME:
                self._state, self._need = self._DESCRIPTOR, 1
            elif magic & _ZSTD_SKIPPABLE_MASK == _ZSTD_SKIPPABLE:
                self._state, self._need = self._SKIP_SIZE, 4
            else:
                # Not a frame: the decoder reports it with a precise message.
                self._state, self._need = self._MAGIC, 4
        elif state == self._SKIP_SIZE:
            self._skip = int.from_bytes(header, "little")
            self._state, self._need = self._MAGIC, 4
        elif state == self._DESCRIPTOR:
            descriptor = header[0]
            single_segment = bool(descriptor & 0x20)
            self._checksum = bool(descriptor & 0x04)
            fcs = (0, 2, 4, 8)[descriptor >> 6]
            if fcs == 0 and single_segment:
                fcs = 1
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 0x03] + fcs
            if rest:
                self._state, self._need = self._HEADER_REST, rest
            else:
                self._state, self._need = self._BLOCK, 3
        elif state == self._HEADER_REST:
            self._state, self._need = self._BLOCK, 3
        elif state == self._BLOCK:
            value = int.from_bytes(header, "little")
            block_type = (value >> 1) & 0x03
            self._skip = 1 if block_type == 1 else value >> 3
            if value & 0x01:
                if self._checksum:
                    self._state, self._need = self._CHECKSUM, 4
                else:
                    self._frames += 1
                    self._state, self._need = self._MAGIC, 4
        else:  # checksum read
            self._frames += 1
            self._state, self._need = self._MAGIC, 4

"""A lean, streaming tar header reader.

Owns the tar format: ustar/GNU/PAX headers, GNU long names, PAX ``path``,
``linkpath`` and ``size`` records, base-256 numbers, and which types carry data
(the rules of Go's ``archive/tar``, which dive and containerd use). It reads
chunks of an uncompressed stream, hands back one header at a time and skips
file data by arithmetic on its buffer, so the per-entry cost stays a few
microseconds and memory stays one chunk. ``tarfile`` in stream mode costs
about ten times as much per entry. Used both for layers (:class:`TarScanner`)
and for the members of an outer image archive (:func:`scan_members`). Imports
only ``ballast._errors``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

from ballast._errors import LayerError

BLOCK: Final = 512
ZERO_BLOCK: Final = bytes(BLOCK)

TYPE_FILE: Final = "f"
TYPE_DIR: Final = "d"
TYPE_SYMLINK: Final = "l"
TYPE_HARDLINK: Final = "h"
TYPE_OTHER: Final = "x"

# typeflag byte → (kind character, carries data). Header-only types carry no
# data whatever their size field says (Go's isHeaderOnlyType).
_TYPES: Final[dict[int, tuple[str, bool]]] = {
    ord("0"): (TYPE_FILE, True),
    0: (TYPE_FILE, True),
    ord("7"): (TYPE_FILE, True),
    ord("S"): (TYPE_FILE, True),
    ord("1"): (TYPE_HARDLINK, False),
    ord("2"): (TYPE_SYMLINK, False),
    ord("3"): (TYPE_OTHER, False),
    ord("4"): (TYPE_OTHER, False),
    ord("5"): (TYPE_DIR, False),
    ord("6"): (TYPE_OTHER, False),
}
_OTHER_WITH_DATA: Final = (TYPE_OTHER, True)

_PAX: Final = ord("x")
_PAX_GLOBAL: Final = ord("g")
_GNU_LONGNAME: Final = ord("L")
_GNU_LONGLINK: Final = ord("K")
_GNU_SPARSE: Final = ord("S")
_POSIX_MAGIC: Final = b"ustar\x00"

Header = tuple[str, str, int, int, str]
"""(name, kind character, size to record, data bytes that follow, link target)."""


def _number(field: bytes) -> int:
    """Parse a numeric header field: octal text, or GNU base-256 when the top bit is set."""
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise ValueError("negative base-256 number")
        return int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
    text = field.strip(b" \x00")
    return int(text, 8) if text else 0


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _number(header[148:156])
    except ValueError:  # not even a number where the checksum belongs: not a tar header
        return False
    unsigned = sum(header[:148]) + sum(header[156:]) + 8 * 0x20
    if stored == unsigned:
        return True
    signed = sum(b - 256 if b > 127 else b for b in header) - sum(
        b - 256 if b > 127 else b for b in header[148:156]
    )
    return stored == signed + 8 * 0x20


def _cstring(field: bytes) -> bytes:
    end = field.find(0)
    return field if end < 0 else field[:end]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_pax(data: bytes) -> dict[str, str]:
    """Parse PAX extended header records (``"%d %s=%s\\n"``, POSIX pax format)."""
    records: dict[str, str] = {}
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise ValueError("PAX record without length")
        length = int(data[pos:space])
        if length <= 0 or pos + length > end:
            raise ValueError("PAX record length out of range")
        record = data[space + 1 : pos + length]
        if not record.endswith(b"\n") or b"=" not in record:
            raise ValueError("malformed PAX record")
        key, _, value = record[:-1].partition(b"=")
        records[_decode(key)] = _decode(value)
        pos += length
    return records


class TarScanner:
    """Reads tar headers from a stream of uncompressed chunks.

    Call :meth:`next` for each header; the data of the previous entry is
    skipped unless :meth:`read_data` consumed part of it first. ``entry_count``
    counts every header (metadata headers too), capped by ``max_entries``.
    """

    __slots__ = (
        "_buf",
        "_chunks",
        "_digest",
        "_max_entries",
        "_max_name",
        "_max_pax",
        "_pos",
        "_skip",
        "_subject",
        "_validated",
        "data_left",
        "entry_count",
        "reached_end",
        "stream_bytes",
    )

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        max_entries: int,
        max_name_bytes: int,
        max_pax_bytes: int,
        subject: str = "layer (unnamed)",
        layer_digest: str = "",
    ) -> None:
        self._chunks = chunks
        self._subject = subject
        self._buf = b""
        self._pos = 0
        self._skip = 0
        self._validated = False
        self._max_entries = max_entries
        self._max_name = max_name_bytes
        self._max_pax = max_pax_bytes
        self._digest = layer_digest
        self.data_left = 0
        """Data bytes of the current entry not yet read (padding excluded)."""
        self.entry_count = 0
        """Headers read so far."""
        self.reached_end = False
        """True once the end-of-archive marker (a zero block) was read."""
        self.stream_bytes = 0
        """Uncompressed bytes consumed from the chunks, padding and trailing data included."""

    # -- buffer ---------------------------------------------------------------

    def _error(self, what: str) -> LayerError:
        return LayerError(
            f"{self._subject} is not a valid tar stream: {what}", layer_digest=self._digest
        )

    def _truncated(self) -> LayerError:
        return LayerError(
            f"{self._subject} is truncated: its tar stream ends inside an entry; "
            "the download or archive is incomplete, fetch it again",
            layer_digest=self._digest,
        )

    def _refill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self.stream_bytes += len(chunk)
                rest = self._buf[self._pos :]
                self._buf = rest + chunk if rest else chunk
                self._pos = 0
                return True
        return False

    def _take(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or ``b""`` if the stream ended cleanly before any."""
        pos = self._pos
        end = pos + size
        if end <= len(self._buf):
            self._pos = end
            return self._buf[pos:end]
        at_boundary = pos >= len(self._buf)
        while len(self._buf) - self._pos < size:
            if not self._refill():
                if at_boundary and self._pos >= len(self._buf):
                    return b""
                raise self._truncated()
        pos = self._pos
        self._pos = pos + size
        return self._buf[pos : pos + size]

    def _discard(self, size: int) -> None:
        available = len(self._buf) - self._pos
        if size <= available:
            self._pos += size
            return
        size -= available
        self._buf = b""
        self._pos = 0
        for chunk in self._chunks:
            self.stream_bytes += len(chunk)
            if size < len(chunk):
                self._buf = chunk
                self._pos = size
                return
            size -= len(chunk)
            if size == 0:
                return
        if size:
            raise self._truncated()

    # -- entries ----------------------------------------------------------------

    def read_data(self, limit: int) -> bytes:
        """Read up to ``limit`` bytes of the current entry's data (the rest is skipped later)."""
        size = min(limit, self.data_left)
        if size <= 0:
            return b""
        data = self._take(size)
        if len(data) < size:
            raise self._truncated()
        self.data_left -= size
        self._skip -= size
        return data

    def _meta_data(self, size: int, cap: int, what: str) -> bytes:
        if size > cap:
            raise self._error(f"{what} of {size} bytes is larger than the {cap}-byte cap")
        padded = (size + BLOCK - 1) & ~(BLOCK - 1)
        data = self._take(padded) if padded else b""
        if len(data) < padded:
            raise self._truncated()
        return data[:size]

    def next(self) -> Header | None:
        """Return the next entry's header, or ``None`` at the end of the archive."""
        if self._skip:
            self._discard(self._skip)
            self._skip = 0
            self.data_left = 0
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] | None = None
        while True:
            header = self._take(BLOCK)
            if not header:
                if long_name is not None or long_link is not None or pax is not None:
                    raise self._truncated()
                return None
            if header == ZERO_BLOCK:
                self.reached_end = True
                return None
            self.entry_count += 1
            if self.entry_count > self._max_entries:
                raise LayerError(
                    f"{self._subject} has more than {self._max_entries} tar entries; "
                    "refusing an absurd entry count (raise the cap if it is genuine)",
                    layer_digest=self._digest,
                )
            is_posix = header[257:263] == _POSIX_MAGIC
            if not self._validated or not header.startswith(b"ustar", 257):
                if not _checksum_ok(header):
                    raise self._error("header checksum mismatch (not a tar, or corrupt)")
                self._validated = True
            typeflag = header[156]
            try:
                size = _number(header[124:136])
            except ValueError as exc:
                raise self._error(f"bad size field ({exc})") from exc
            if typeflag == _PAX:
                try:
                    pax = parse_pax(self._meta_data(size, self._max_pax, "PAX header"))
                except ValueError as exc:
                    raise self._error(f"bad PAX header ({exc})") from exc
                continue
            if typeflag == _PAX_GLOBAL:
                self._meta_data(size, self._max_pax, "PAX global header")
                continue
            if typeflag == _GNU_LONGNAME:
                long_name = _decode(_cstring(self._meta_data(size, self._max_name, "long name")))
                continue
            if typeflag == _GNU_LONGLINK:
                long_link = _decode(_cstring(self._meta_data(size, self._max_name, "long link")))
                continue
            kind, has_data = _TYPES.get(typeflag, _OTHER_WITH_DATA)
            record_size = size
            if long_name is not None:
                name = long_name
            else:
                raw = _cstring(header[:100])
                if is_posix and header[345]:
                    raw = _cstring(header[345:500]) + b"/" + raw
                name = _decode(raw)
            if typeflag == 0 and name.endswith("/"):
                # Pre-POSIX archives mark directories with a trailing slash only.
                kind, has_data = TYPE_DIR, False
            if long_link is not None:
                link = long_link
            elif header[157]:
                link = _decode(_cstring(header[157:257]))
            else:
                link = ""
            if typeflag == _GNU_SPARSE:
                try:
                    record_size = _number(header[483:495])
                except ValueError as exc:
                    raise self._error(f"bad sparse size ({exc})") from exc
            if pax is not None:
                name = pax.get("path", name)
                link = pax.get("linkpath", link)
                try:
                    if "size" in pax:
                        size = record_size = int(pax["size"])
                    if "GNU.sparse.name" in pax:
                        name = pax["GNU.sparse.name"]
                    real = pax.get("GNU.sparse.realsize", pax.get("GNU.sparse.size"))
                    if real is not None:
                        record_size = int(real)
                except ValueError as exc:
                    raise self._error(f"bad PAX number ({exc})") from exc
                if size < 0 or record_size < 0:
                    raise self._error("negative size in PAX header")
            if len(name) > self._max_name or len(link) > self._max_name:
                raise self._error(f"entry name longer than {self._max_name} bytes")
            data = size if has_data else 0
            self.data_left = data
            self._skip = (data + BLOCK - 1) & ~(BLOCK - 1)
            return name, kind, record_size, data, link

    def drain(self) -> None:
        """Consume the rest of the stream (padding, estargz TOC) without parsing it."""
        self._buf = b""
        self._pos = 0
        self._skip = 0
        for chunk in self._chunks:
            self.stream_bytes += len(chunk)


def scan_members(
    file: BinaryIO, *, max_members: int, max_name_bytes: int, max_pax_bytes: int, subject: str
) -> Iterator[tuple[Header, int]]:
    """Yield ``(header, data_offset)`` for each member of a seekable tar file.

    Member data is skipped with ``seek``, never read, so indexing a multi-GB
    ``docker save`` archive reads only its headers.
    """
    start = file.tell()

    def chunks() -> Iterator[bytes]:
        while True:
            block = file.read(BLOCK)
            if not block:
                return
            yield block

    scanner = TarScanner(
        chunks(),
        max_entries=max_members,
        max_name_bytes=max_name_bytes,
        max_pax_bytes=max_pax_bytes,
        subject=subject,
    )
    while True:
        header = scanner.next()
        if header is None:
            return
        offset = start + scanner.stream_bytes
        yield header, offset
        skip = scanner._skip
        scanner._skip = 0
        scanner.data_left = 0
        if skip:
            file.seek(skip, 1)
            scanner.stream_bytes += skip

"""BGZF, the blocked gzip of VCF.gz and BCF: writing blocks, the EOF marker, reading from a virtual offset."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

__all__ = ["EOF_BLOCK", "MAX_INPUT", "compress_block", "encode", "read_from", "split_virtual"]

# The 28-byte empty block every BGZF file ends with (SAM specification, section 4.1.2).
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# As bgzip: input per block small enough that even incompressible data fits the 64 KiB block limit.
MAX_INPUT = 0xFF00
_HEADER = struct.Struct("<4BI2BH2BHH")  # ID1 ID2 CM FLG MTIME XFL OS XLEN SI1 SI2 SLEN BSIZE
_HEADER_SIZE = _HEADER.size  # 18


def compress_block(data: bytes | memoryview, level: int = 6) -> bytes:
    """One BGZF block holding `data` (at most MAX_INPUT bytes)."""
    if len(data) > MAX_INPUT:
        raise ValueError(f"a BGZF block holds at most {MAX_INPUT} bytes, not {len(data)}")
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    payload = deflate.compress(data) + deflate.flush()
    block_size = _HEADER_SIZE + len(payload) + 8
    header = _HEADER.pack(0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, block_size - 1)
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


def encode(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Re-block a byte stream as BGZF blocks (no EOF marker: the ticket serves it on its own)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= MAX_INPUT:
            yield compress_block(memoryview(pending)[:MAX_INPUT], level)
            del pending[:MAX_INPUT]
    if pending:
        yield compress_block(bytes(pending), level)


def split_virtual(offset: int) -> tuple[int, int]:
    """A virtual offset as (offset of the compressed block in the file, offset inside its decompressed data)."""
    return offset >> 16, offset & 0xFFFF


def _read_block(handle: BinaryIO) -> bytes | None:
    header = handle.read(_HEADER_SIZE)
    if not header:
        return None
    if len(header) < _HEADER_SIZE or header[:4] != b"\x1f\x8b\x08\x04":
        raise ValueError("not a BGZF block")
    xlen = struct.unpack_from("<H", header, 10)[0]
    extra = header[12:12 + 6]
    if xlen != 6 or extra[:2] != b"BC":  # only the layout htslib and bgzip write
        raise ValueError("BGZF block without the BC extra field")
    block_size = struct.unpack_from("<H", header, 16)[0] + 1
    rest = handle.read(block_size - _HEADER_SIZE)
    if len(rest) != block_size - _HEADER_SIZE:
        raise ValueError("truncated BGZF block")
    return zlib.decompress(rest[:-8], -15)


def read_from(handle: BinaryIO, virtual_offset: int = 0) -> Iterator[bytes]:
    """The decompressed stream from a virtual offset onwards, one block's data at a time."""
    block_offset, within = split_virtual(virtual_offset)
    handle.seek(block_offset)
    first = True
    while (data := _read_block(handle)) is not None:
        if first:
            data, first = data[within:], False
        if data:
            yield data

"""An object's size from its header alone, so a refused read never inflates the object.

dulwich reads a whole object to answer `raw_length()`: a GetFile on a 1 GB blob pushed by
git would decompress 1 GB (more, through a delta chain) only to answer
FileTooLargeException. Git stores the size in front of every object: a loose object's
zlib stream starts with `<type> <size>\\0`, a packed object's header carries its size,
and a delta's (compressed) data starts with the base size then the result size
(Documentation/gitformat-pack.txt). Reading those costs a few hundred bytes.
"""

from __future__ import annotations

import zlib

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID
from dulwich.pack import PackFileDisappeared

OFS_DELTA, REF_DELTA = 6, 7
_HEADER_READ = 4096


def object_size(store: DiskObjectStore, oid: bytes) -> int | None:
    """The inflated size of object `oid` (hex), or None when no header says (not found,
    an alternate, a format this does not read): the caller then loads the object."""
    # `packs` rescans the pack directory, but lists the packs it knew before the scan
    # first: one that maintenance deleted since is skipped, the pack that replaced it
    # comes later in the list.
    for pack in store.packs:
        try:
            offset = pack.index.object_offset(ObjectID(oid))
            return _packed_size(pack._data_path, offset)
        except (KeyError, PackFileDisappeared, FileNotFoundError):
            continue
    return _loose_size(store._get_shafile_path(ObjectID(oid)))


def _loose_size(path: str) -> int | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_READ)
    except OSError:
        return None
    try:
        text = zlib.decompressobj().decompress(head, 64)
    except zlib.error:
        return None
    kind, _, rest = text.partition(b" ")
    size, nul, _ = rest.partition(b"\0")
    return int(size) if nul and kind and size.isdigit() else None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A little-endian base-128 number at `pos` (delta headers); value and next position."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _packed_size(path: str, offset: int) -> int | None:
    with open(path, "rb") as handle:
        handle.seek(offset)
        head = handle.read(_HEADER_READ)
    byte = head[0]
    kind = (byte >> 4) & 0x7
    size, shift, pos = byte & 0x0F, 4, 1
    while byte & 0x80:
        byte = head[pos]
        pos += 1
        size |= (byte & 0x7F) << shift
        shift += 7
    if kind not in (OFS_DELTA, REF_DELTA):
        return size
    if kind == OFS_DELTA:
        while head[pos] & 0x80:
            pos += 1
        pos += 1
    else:
        pos += 20
    inflater = zlib.decompressobj()
    delta = inflater.decompress(head[pos:], 32)
    if len(delta) < 2:
        return None
    try:
        _, after_base = _varint(delta, 0)
        result, _ = _varint(delta, after_base)
    except IndexError:
        return None
    return result

"""A small CBOR encoder and decoder for tests (RFC 8949 subset: what Kinesis uses)."""

import struct


class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(n)


def dumps(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if v is None:
        return b"\xf6"
    if isinstance(v, Tag):
        return _head(6, v.tag) + dumps(v.value)
    if isinstance(v, int):
        return _head(0, v) if v >= 0 else _head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, bytes):
        return _head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return _head(3, len(b)) + b
    if isinstance(v, list):
        return _head(4, len(v)) + b"".join(dumps(x) for x in v)
    if isinstance(v, dict):
        # Indefinite-length, as the Java SDK writes maps.
        return b"\xbf" + b"".join(dumps(k) + dumps(x) for k, x in v.items()) + b"\xff"
    raise TypeError(type(v))


def loads(b):
    v, pos = _load(b, 0)
    assert pos == len(b), "trailing bytes"
    return v


def _load(b, pos):
    initial = b[pos]
    pos += 1
    major, info = initial >> 5, initial & 31
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info in (22, 23):
            return None, pos
        if info == 27:
            return struct.unpack(">d", b[pos:pos + 8])[0], pos + 8
        if info == 26:
            return struct.unpack(">f", b[pos:pos + 4])[0], pos + 4
        raise ValueError("simple %d" % info)
    if info == 31:
        n = None
    elif info < 24:
        n = info
    else:
        size = 1 << (info - 24)
        n = int.from_bytes(b[pos:pos + size], "big")
        pos += size
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major in (2, 3):
        raw = b[pos:pos + n]
        return (raw if major == 2 else raw.decode()), pos + n
    if major == 4:
        out = []
        while (n is None and b[pos] != 0xFF) or (n is not None and len(out) < n):
            x, pos = _load(b, pos)
            out.append(x)
        return out, pos + (1 if n is None else 0)
    if major == 5:
        out, count = {}, 0
        while (n is None and b[pos] != 0xFF) or (n is not None and count < n):
            k, pos = _load(b, pos)
            out[k], pos = _load(b, pos)
            count += 1
        return out, pos + (1 if n is None else 0)
    if major == 6:
        v, pos = _load(b, pos)
        return Tag(n, v), pos
    raise ValueError(major)

"""Reading an answer's body within a size limit, the decompressed size counted.

A hostile or broken platform may answer 200 MB, or a few hundred KB of gzip that
inflate to gigabytes. ``BoundedBody`` takes the raw bytes as they arrive and
inflates them (``gzip``, ``deflate``, or none) never more than the bytes still
allowed plus one at a time, so memory stays bounded by the limit whatever the
compression ratio, and raises ``BodyTooLarge`` as soon as the limit is passed.

httpx's own decoders inflate each network chunk whole (a 64 KB chunk of gzip can
be 64 MB, of brotli far more), so the API connectors read raw bytes through this
instead and advertise only ``gzip, deflate``; the same inflater bounds gzip
sitemaps (``crawlers.parsing.sitemaps``). Scrapy bounds its own downloads
(``DOWNLOAD_MAXSIZE``, decompression included).

Example:
    >>> import gzip
    >>> body = BoundedBody(100, "gzip")
    >>> body.feed(gzip.compress(b"x" * 50)); body.finish()
    b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
"""

from __future__ import annotations

import zlib

from crawlers.errors import BodyTooLarge, MalformedPage

ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")


def _encoding(content_encoding: str | None) -> str:
    """The one coding to undo ('' for none); MalformedPage for what we did not ask for."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return ""
    if len(codings) == 1 and codings[0] in (*_GZIP, "deflate"):
        return "gzip" if codings[0] in _GZIP else "deflate"
    raise MalformedPage(f"unsupported Content-Encoding {content_encoding!r} (asked for "
                        f"{ACCEPT_ENCODING})")


class BoundedBody:
    """Raw body bytes in, decoded bytes out, never more than ``limit`` of them."""

    def __init__(self, limit: int, content_encoding: str | None = None, *,
                 url: str | None = None) -> None:
        self.limit = limit
        self.url = url
        self.coding = _encoding(content_encoding)
        self._inflater: zlib._Decompress | None = None
        self._head = b""  # deflate: the first bytes, until zlib or raw is told
        self._parts: list[bytes] = []
        self.size = 0  # decoded bytes so far
        self.received = 0  # raw bytes so far

    def too_large(self, declared: int | None = None) -> BodyTooLarge:
        """The error for this body (``declared``: the size its Content-Length announced)."""
        if declared is not None:
            how = f" ({declared} bytes announced)"
        elif self.coding:
            how = f" once inflated ({self.coding}, {self.received} bytes received)"
        else:
            how = ""
        return BodyTooLarge(f"answer larger than max_body ({self.limit} bytes){how}",
                            url=self.url, limit=self.limit)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self._parts.clear()
            raise self.too_large()
        if data:
            self._parts.append(data)

    def _make_inflater(self, head: bytes) -> zlib._Decompress:
        if self.coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped (RFC 9110) but many servers send it raw
        wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        """Take the next raw bytes; BodyTooLarge once the decoded body passes the limit."""
        self.received += len(chunk)
        if not self.coding:
            self._keep(chunk)
            return
        if self._inflater is None:
            self._head += chunk
            if len(self._head) < 2:
                return
            chunk, self._head = self._head, b""
            self._inflater = self._make_inflater(chunk)
        data = chunk
        while data:
            try:
                out = self._inflater.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                raise MalformedPage(f"bad {self.coding} data: {exc}", url=self.url) from exc
            self._keep(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof and self._inflater.unused_data:
                # gzip allows several members one after the other
                data = self._inflater.unused_data
                self._inflater = self._make_inflater(data)

    def finish(self) -> bytes:
        """The whole decoded body; MalformedPage when a compressed stream was cut short."""
        if self.coding and self._inflater is None and self._head:
            self._inflater = self._make_inflater(self._head)
            self._head, data = b"", self._head
            self.received -= len(data)
            self.feed(data)
        if self._inflater is not None:
            self._keep(self._inflater.flush())
            if not self._inflater.eof:
                raise MalformedPage(f"{self.coding} stream cut short", url=self.url)
        return b"".join(self._parts)


def inflate(data: bytes, limit: int, coding: str = "gzip") -> bytes:
    """``data`` inflated, within ``limit`` bytes (BodyTooLarge past it)."""
    body = BoundedBody(limit, coding)
    body.feed(data)
    return body.finish()

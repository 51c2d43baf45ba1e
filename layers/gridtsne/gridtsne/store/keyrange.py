"""Cut points between two keys, to list one S3 prefix as several key ranges at once.

S3 lists keys in UTF-8 byte order, which is the order of Python strings (code point order). A listing
worker owns a range ``(lo, hi]``: the keys after ``lo`` up to and including ``hi``. When a page comes back
truncated, :func:`split` cuts what remains into pieces without knowing how the keys are distributed: it
halves the range again and again at :func:`midpoint`, a key near the middle of the two bounds' UTF-8 bytes
(so plain ASCII, half of the byte values, is cut more finely than the rest of Unicode), extending the
string where the bounds are adjacent.
"""

from __future__ import annotations

#: The longest key S3 accepts, in UTF-8 bytes; no cut point is longer.
MAX_KEY_BYTES = 1024
_TOP = 0x110000  # one past the last code point: the bound of a range with no upper end
_SURROGATES = range(0xD800, 0xE000)  # code points that no UTF-8 string holds
_SPACE = 0x20  # the first code point after the control characters
_LEAD_GAP = 0xC2 - 0x80  # byte values that start no UTF-8 character (continuation bytes, 0xC0, 0xC1)
_NOT_XML = (0xFFFE, 0xFFFF)  # beside the controls and surrogates, what XML (S3's answers) cannot hold


def _weight(code: int) -> int:
    """A code point's UTF-8 bytes as a 4-byte number, increasing with the code point as S3 orders keys;
    lead bytes from 0xC2 count from 0x80, as no character starts with the bytes between."""
    if code < 0:
        return -1
    if code >= _TOP:
        return (0xF5 - _LEAD_GAP) << 24  # after the last lead byte
    if code in _SURROGATES:
        code = _SURROGATES.stop
    weight = int.from_bytes(chr(code).encode().ljust(4, b"\0"), "big")
    return weight if code < 0x80 else weight - (_LEAD_GAP << 24)


def _char_between(below: int, above: int) -> int | None:
    """The code point strictly between two (``-1``: before the first; ``_TOP``: after the last) whose
    UTF-8 bytes are nearest above the middle of theirs, never a control character, U+FFFE or U+FFFF; None
    when there is no such code point between them."""
    first, last = below + 1, above - 1
    if last < _SPACE:
        return None  # no control character in a cut: XML (S3's answers, its emulators') refuses them
    first = max(first, _SPACE)
    if first in _SURROGATES:
        first = _SURROGATES.stop
    if last in _SURROGATES:
        last = _SURROGATES.start - 1
    if first > last:
        return None
    target = (_weight(below) + _weight(above)) // 2
    low, high = first, last
    while low < high:  # the first code point whose weight reaches the target (the last one if none does)
        middle = (low + high) // 2
        if _weight(middle) >= target:
            high = middle
        else:
            low = middle + 1
    low = _SURROGATES.stop if low in _SURROGATES else low
    if low in _NOT_XML:  # the nearest code point XML can hold; None (adjacent) when the range has none
        return next((c for c in (_NOT_XML[0] - 1, _NOT_XML[1] + 1) if first <= c <= last), None)
    return low


def midpoint(lo: str, hi: str | None) -> str | None:
    """A key strictly between ``lo`` and ``hi``, near the middle by UTF-8 bytes.

    Parameters
    ----------
    lo
        The lower bound (``""`` for the start of the key space).
    hi
        The upper bound, greater than ``lo``; None for no upper bound.

    Returns
    -------
    str or None
        The common start of the bounds followed by one character between theirs; where their characters
        are adjacent, ``lo``'s character followed by a midpoint after the rest of ``lo``. None when every key
        between is ``lo`` followed by a control character (``hi`` is ``lo`` followed by one character up to
        the space), which no cut holds.
    """
    if hi is not None and hi <= lo:
        raise ValueError(f"empty range: {lo!r} >= {hi!r}")
    common = 0
    if hi is not None:
        while common < len(lo) and lo[common] == hi[common]:
            common += 1
    below = ord(lo[common]) if common < len(lo) else -1
    above = ord(hi[common]) if hi is not None else _TOP
    between = _char_between(below, above)
    if between is not None:
        return lo[:common] + chr(between)
    if below >= 0:  # adjacent characters: any key after lo that keeps lo's character is below hi
        rest = midpoint(lo[common + 1 :], None)
        return None if rest is None else lo[: common + 1] + rest
    assert hi is not None  # lo ends where hi has U+0000: lo + U+0000 is between if hi goes on
    return hi[: common + 1] if len(hi) > common + 1 else None


def split(lo: str, hi: str | None, pieces: int) -> list[str]:
    """At most ``pieces - 1`` increasing cut points strictly between ``lo`` and ``hi``.

    The range ``(lo, hi]`` becomes ``(lo, c1], (c1, c2], ..., (cn, hi]``, each cut halfway between ``lo`` and
    the cut above it: the pieces halve towards ``lo``, where the keys listed last suggest the next ones
    are. Keys packed just after ``lo`` (a long shared start such as ``IMG_0``) are thus reached in one
    round of requests as closely as ``pieces - 1`` halvings would; keys spread evenly leave the upper
    pieces the largest, and their lists cut them again when threads fall idle. Fewer cuts when the range
    holds too few keys (or a cut would be longer than :data:`MAX_KEY_BYTES`).
    """
    cuts: list[str] = []
    upper = hi
    while len(cuts) < pieces - 1:
        middle = midpoint(lo, upper)
        if middle is None or len(middle.encode()) > MAX_KEY_BYTES:
            break
        cuts.append(middle)
        upper = middle
    return cuts[::-1]

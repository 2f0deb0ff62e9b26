"""Text normalisation before scoring: fold look-alikes, drop invisibles, surface hidden and encoded text.

``normalize(text)`` returns a :class:`NormalizedText` whose ``text`` is what rules scan: every segment,
lower-cased and whitespace-collapsed, joined by ``\\n`` (rule patterns use ``.`` that never crosses a
segment). Segments are labelled by where their text was found (``body``, ``html-comment``,
``html-hidden``, ``html-attr``, ``md-comment``, ``md-title``, ``unicode-tags``, ``base64``, ``hex``,
``url-encoding``, ``rot13``) so evidence can say "found in html-comment". Hidden segments come first,
so the first occurrence of a pattern is reported in the hidden segment rather than in the raw body.

Speed: ASCII text skips NFKC and the fold table, and printable ASCII collapses its whitespace without a list
of words; the HTML parser runs only when a tag or comment opener is present; the decoders only when a long
enough run of their alphabet is present (one RE2 gate for base64 and hex); the rot13 hint only when "13" is.
Each fast path gives the same text as the plain computation (tests/detect/test_fastpaths.py).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote_plus

import re2

#: zero-width, bidi-control and other invisible code points removed before matching
_INVISIBLE = [
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # arabic letter mark
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    0x180E,  # mongolian vowel separator
    0x3164,  # hangul filler
    0xFFA0,
    0xFEFF,  # BOM / zero-width no-break space
    *range(0x200B, 0x2010),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    *range(0x2066, 0x206A),  # bidi isolates
    *range(0xFE00, 0xFE10),  # variation selectors
    *range(0x0300, 0x0370),  # combining diacritics left over after NFKC (zalgo-style word breaking)
]
#: Unicode "tag" characters (U+E0000..U+E007F): invisible, but map 1:1 onto ASCII ("ASCII smuggling")
_TAG_LO, _TAG_HI = 0xE0000, 0xE007F

# A small, explicit homoglyph fold (Cyrillic / Greek / Armenian / Latin look-alikes to Latin), plus accent
# folding so multilingual rules can be written in ASCII. A str.translate table runs in C in one pass; the
# confusable-homoglyphs package answers "is this confusable?" per character in Python, ~100x slower.
_FOLD_PAIRS = {
    # Cyrillic upper / lower
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ӏ": "I",
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "ү": "y", "ѵ": "v", "ɡ": "g", "ո": "n", "ս": "u", "օ": "o", "ց": "g", "հ": "h", "զ": "q",
    # Greek upper / lower
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ϲ": "c", "ϳ": "j", "ω": "w", "η": "n", "μ": "u",
    # Latin look-alikes and accents
    "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
    "á": "a", "à": "a", "â": "a", "ä": "a", "ã": "a", "å": "a", "ā": "a", "ą": "a",
    "é": "e", "è": "e", "ê": "e", "ë": "e", "ē": "e", "ę": "e", "ě": "e",
    "í": "i", "ì": "i", "î": "i", "ï": "i", "ī": "i",
    "ó": "o", "ò": "o", "ô": "o", "ö": "o", "õ": "o", "ō": "o", "ő": "o",
    "ú": "u", "ù": "u", "û": "u", "ü": "u", "ū": "u", "ů": "u", "ű": "u",
    "ñ": "n", "ń": "n", "ç": "c", "ć": "c", "č": "c", "š": "s", "ś": "s", "ž": "z", "ź": "z", "ż": "z",
    "ý": "y", "ÿ": "y", "ř": "r",
    # punctuation look-alikes that break "don't" and quoted markers
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2010": "-", "\u2011": "-", "\u2013": "-",
    "\u2014": "-", "\u2212": "-",
}  # fmt: skip
_TABLE: dict[int, str | None] = {cp: None for cp in _INVISIBLE}
_TABLE.update({ord(k): v for k, v in _FOLD_PAIRS.items()})
_TABLE.update({ord(k.upper()): v.upper() for k, v in _FOLD_PAIRS.items() if len(k.upper()) == 1 and k.isalpha()})
_TABLE.update({cp: None for cp in range(_TAG_LO, _TAG_HI + 1)})

HIDDEN_ORIGINS: frozenset[str] = frozenset(
    {"html-comment", "html-hidden", "html-attr", "md-comment", "md-title", "unicode-tags", "base64", "hex",
     "url-encoding", "rot13"}
)  # fmt: skip

# Run finders start only at the beginning of a run (look-behind), so a scan is linear; RE2 would also be linear
# but its Python match objects cost more than the scan when a page has many long tokens.
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,}={0,2}")
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}|(?:\\x[0-9a-fA-F]{2}){8,}")
# RE2 gates (one DFA pass, no match object unless a run exists) keep pages without runs off the slow path
_B64_GATE = re2.compile(r"[A-Za-z0-9+_-]{20}")  # no '/': URL paths are long runs with slashes; base64 rarely is
_HEX_GATE = re2.compile(r"[0-9a-fA-F]{32}|(?:\\x[0-9a-fA-F]{2}){8}")
# Either gate's match is one of this one's ([0-9a-fA-F] is inside the base64 gate's class): one pass when neither
_CODE_GATE = re2.compile(r"[A-Za-z0-9+_-]{20}|(?:\\x[0-9a-fA-F]{2}){8}")
_PCT_TOKEN = re2.compile(r"[^\s%]*(?:%[0-9a-fA-F]{2}[^\s%]*){2,}")
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
_MD_COMMENT = re.compile(r"^\s*\[(?:[^\]\n]{0,40})\]:\s*(?:#|<>)\s*[\(\"'](.{1,2000}?)[\)\"']\s*$", re.M)
_MD_TITLE = re.compile(r"\]\(\s*[^\s)]{0,2000}\s+[\"'](.{1,500}?)[\"']\s*\)")
# Markup worth parsing: a comment, or an element that can hide text or carry it in attributes.
_HTML_HINT = re2.compile(
    r"(?i)<!--|<[a-z][^>]*\s(?:style|hidden|aria-hidden|alt|title|aria-label|aria-description|placeholder|data-prompt"
    r"|data-instructions)\b|<(?:template|noscript)\b"
)
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|em|rem|pt|%)?\s*(?:;|$|!)"
    r"|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)|(?:left|top|text-indent)\s*:\s*-\d{3,}"
    r"|color\s*:\s*(?:transparent|white|#fff(?:fff)?\b|rgba?\(\s*255\s*,\s*255\s*,\s*255)"
)
_COLOR = re.compile(r"(?<![-\w])color\s*:\s*([^;]+)")
_BACKGROUND = re.compile(r"background(?:-color)?\s*:\s*([^;]+)")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_ATTRS = frozenset("alt title aria-label aria-description placeholder data-prompt data-instructions".split())
_ROT13_HINT = re.compile(r"rot-?13")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_SPACES = re.compile("  +")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Scan text made of labelled segments; ``origin_at(pos)`` says which segment a match is in."""

    text: str
    segments: list[tuple[str, str]]
    starts: tuple[int, ...] = field(default=())

    def locate(self, pos: int) -> tuple[str, int]:
        """The segment origin and the offset inside that segment of scan-text position ``pos``."""
        i = max(bisect_right(self.starts, pos) - 1, 0)
        return self.segments[i][0], pos - self.starts[i]

    def origin_at(self, pos: int) -> str:
        """The origin label of the segment holding scan-text position ``pos``."""
        return self.locate(pos)[0]

    @property
    def origins(self) -> list[str]:
        """Origin labels in scan order."""
        return [o for o, _ in self.segments]


def collapse(text: str) -> str:
    """``" ".join(text.split())``: whitespace runs to one space, none at the ends.

    Fast path for ASCII, the same result: once line breaks are spaces, text whose bytes are all printable ASCII
    has no whitespace but the space, and replacing runs of spaces and stripping the ends is what split and join
    do; ~4 µs per KB instead of ~7 (no list of words).
    """
    if text.isascii():
        flat = text.replace("\n", " ")
        if not flat.encode("ascii").translate(None, _PRINTABLE_ASCII):
            return _SPACES.sub(" ", flat).strip(" ")
    return " ".join(text.split())


def fold(text: str) -> str:
    """NFKC, invisible removal, homoglyph/accent fold, lower-case, whitespace collapse (no decoding)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    return collapse(text.lower())


def _printable_ratio(s: str) -> float:
    if not s:
        return 0.0
    ok = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in s if c.isalpha() or c == " ")
    return min(ok / len(s), (letters / len(s)) * 1.5)


def as_text(raw: bytes) -> str | None:
    """``raw`` as text when it is UTF-8 of at least 8 characters, mostly printable and letters; else None (the
    test a decoded segment must pass to be scanned)."""
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if len(s) >= 8 and _printable_ratio(s) >= 0.85 else None


def _decode_base64(text: str) -> list[str]:
    out: list[str] = []
    if _B64_GATE.search(text) is None:
        return out
    for m in _B64_RUN.finditer(text):
        run = m.group(0)
        body = run.rstrip("=")
        # base64 of text mixes cases and has few slashes; long words, numbers and URL paths do not
        if body.islower() or body.isupper() or body.isdigit() or body.count("/") * 16 > len(body):
            continue
        body = body.replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            continue
        s = as_text(raw)
        if s:
            out.append(s)
    return out


def _decode_hex(text: str) -> list[str]:
    out: list[str] = []
    if _HEX_GATE.search(text) is None:
        return out
    for m in _HEX_RUN.finditer(text):
        run = m.group(0).replace("\\x", "")
        run = run[: len(run) - len(run) % 2]
        try:
            s = as_text(bytes.fromhex(run))
        except ValueError:
            continue
        if s:
            out.append(s)
    return out


class _HiddenTextParser(HTMLParser):
    """Collects HTML comments, text inside hidden elements and text-bearing attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.hidden_depth = 0
        self.found: list[tuple[str, str]] = []

    @staticmethod
    def _is_hidden(attrs: list[tuple[str, str | None]]) -> bool:
        for name, value in attrs:
            if name == "hidden" or (name == "aria-hidden" and value == "true"):
                return True
            if name == "style" and value:
                style = value.lower()
                if _HIDDEN_STYLE.search(style):
                    return True
                color, bg = _COLOR.search(style), _BACKGROUND.search(style)
                if color and bg and color.group(1).strip() == bg.group(1).strip():
                    return True
        return False

    def _attrs(self, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _ATTRS and len(value) > 12:
                self.found.append(("html-attr", value))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(attrs)
        if tag in _VOID:
            return
        hidden = self._is_hidden(attrs) or tag in ("template", "noscript")
        self.stack.append((tag, hidden))
        if hidden:
            self.hidden_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(attrs)

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, hidden = self.stack.pop()
            if hidden:
                self.hidden_depth -= 1
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.hidden_depth > 0 and data.strip():
            self.found.append(("html-hidden", data))

    def handle_comment(self, data: str) -> None:
        if data.strip():
            self.found.append(("html-comment", data))


def _hidden_html(text: str) -> list[tuple[str, str]]:
    parser = _HiddenTextParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # malformed markup must never stop scanning; keep what was found
        pass
    return parser.found


def _surface(text: str) -> list[tuple[str, str]]:
    """Hidden and encoded segments of raw ``text`` (before folding; decoders need original case)."""
    extra: list[tuple[str, str]] = []
    if "<" in text and _HTML_HINT.search(text):
        extra.extend(_hidden_html(text))
    if "]" in text:
        if "]:" in text:
            extra.extend(("md-comment", m.group(1)) for m in _MD_COMMENT.finditer(text))
        if "](" in text:
            extra.extend(("md-title", m.group(1)) for m in _MD_TITLE.finditer(text))
    if not text.isascii() and _TAG_CHARS.search(text):
        tags = "".join(chr(ord(c) - _TAG_LO) for c in text if _TAG_LO + 0x20 <= ord(c) <= _TAG_LO + 0x7E)
        if tags:
            extra.append(("unicode-tags", tags))
    if _CODE_GATE.search(text) is not None:
        extra.extend(("base64", s) for s in _decode_base64(text))
        extra.extend(("hex", s) for s in _decode_hex(text))
    if text.count("%") >= 2:
        tokens = [unquote_plus(t) for t in _PCT_TOKEN.findall(text)]
        decoded = " ".join(t for t in tokens if t)
        if decoded:
            extra.append(("url-encoding", decoded))
    return extra


def normalize(text: str, *, decode: bool = True) -> NormalizedText:
    """Fold ``text`` and surface its hidden/encoded parts as extra labelled segments (see module docstring)."""
    raw_segments = _surface(text) if decode else []
    # no case mapping makes an ASCII digit, so "13" in the lower-cased text is "13" in the text
    if decode and "13" in text and _ROT13_HINT.search(text.lower()):
        raw_segments.append(("rot13", codecs.decode(text, "rot13")))
    hidden = [(origin, fold(s)) for origin, s in raw_segments if origin in HIDDEN_ORIGINS]
    segments = [seg for seg in hidden if seg[1]]
    segments.insert(_first_decoded(segments), ("body", fold(text)))
    starts: list[int] = []
    pos = 0
    for _, s in segments:
        starts.append(pos)
        pos += len(s) + 1
    return NormalizedText("\n".join(s for _, s in segments), segments, tuple(starts))


_DECODED = frozenset({"base64", "hex", "url-encoding", "rot13"})


def _first_decoded(segments: list[tuple[str, str]]) -> int:
    """Index where ``body`` goes: after markup-hidden segments, before decoded ones."""
    for i, (origin, _) in enumerate(segments):
        if origin in _DECODED:
            return i
    return len(segments)

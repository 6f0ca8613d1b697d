import unicodedata
from dataclasses import dataclass

from course_lib.bpe_naive import WHITESPACE


@dataclass
class Normalized:
    """Normalized text that remembers, for every character, which character of the original text it came from.

    `origin[i]` is the index in the original text of `text[i]`: it is how offsets survive normalization.
    """

    text: str
    origin: list[int]

    @classmethod
    def of(cls, text: str) -> "Normalized":
        return cls(text, list(range(len(text))))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original character span of normalized characters start..end (end excluded)."""
        return (self.origin[start], self.origin[end - 1] + 1) if end > start else (0, 0)


def _is_control(c: str) -> bool:
    """Control, format, private-use or unassigned characters, which BERT's cleaning removes (tab, newline, CR are spaces)."""
    return c not in "\t\n\r" and unicodedata.category(c)[0] == "C"


def is_chinese_char(c: str) -> bool:
    """True for a CJK ideograph: BERT puts spaces around each, so each becomes a word of its own."""
    cp = ord(c)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BertNormalizer:
    """BERT's normalization: clean the text, space out CJK ideographs, strip accents, lowercase (each optional)."""

    def __init__(self, clean_text: bool = True, handle_chinese_chars: bool = True, strip_accents: bool | None = None,
                 lowercase: bool = True):
        self.clean_text, self.handle_chinese_chars, self.lowercase = clean_text, handle_chinese_chars, lowercase
        self.strip_accents = strip_accents  # None: strip accents when lowercasing, as BERT uncased does

    def normalize(self, text: Normalized) -> Normalized:
        chars = list(zip(text.text, text.origin))
        if self.clean_text:  # drop NUL, U+FFFD and control characters; every kind of whitespace becomes " "
            chars = [(" " if c in WHITESPACE else c, o) for c, o in chars
                     if c != "\0" and c != "\ufffd" and not _is_control(c)]
        if self.handle_chinese_chars:
            chars = [x for c, o in chars for x in ([(" ", o), (c, o), (" ", o)] if is_chinese_char(c) else [(c, o)])]
        if self.strip_accents or (self.strip_accents is None and self.lowercase):
            # Decompose ("é" -> "e" + U+0301) and drop the non-spacing marks. Decomposing whole text also puts
            # consecutive marks in canonical order; they are dropped here, so character by character is enough.
            chars = [(d, o) for c, o in chars for d in unicodedata.normalize("NFD", c) if unicodedata.category(d) != "Mn"]
        if self.lowercase:  # one character at a time, as Rust's char::to_lowercase does ("Σ" -> "σ" everywhere)
            chars = [(lc, o) for c, o in chars for lc in c.lower()]
        return Normalized("".join(c for c, _ in chars), [o for _, o in chars])


def is_punctuation(c: str) -> bool:
    """ASCII punctuation (including $, +, <, =, >, ^, `, |, ~) or any Unicode punctuation character."""
    return (c.isascii() and not c.isalnum() and c.isprintable() and c != " ") or unicodedata.category(c)[0] == "P"


def bert_pre_tokenize(text: str) -> list[tuple[int, int]]:
    """BERT's words: split on whitespace (dropped) and around every punctuation character (kept, alone).

    Returns (start, end) spans: "Hi, you!" -> [(0, 2), (2, 3), (4, 7), (7, 8)] for 'Hi', ',', 'you', '!'.
    """
    spans, start = [], None
    for i, c in enumerate(text):
        if c in WHITESPACE or is_punctuation(c):
            if start is not None:
                spans.append((start, i))
                start = None
            if c not in WHITESPACE:
                spans.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans


class WordPiece:
    """Greedy longest-match-first WordPiece, as BERT uses it."""

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", continuing_subword_prefix: str = "##",
                 max_input_chars_per_word: int = 100):
        if unk_token not in vocab:
            raise ValueError(f"unk_token {unk_token!r} is not in the vocabulary; WordPiece needs it for unknown words")
        self.vocab, self.unk_token, self.prefix = dict(vocab), unk_token, continuing_subword_prefix
        self.max_input_chars_per_word = max_input_chars_per_word
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.cache: dict[str, list[tuple[int, int, int]]] = {}

    def tokenize_word(self, word: str) -> list[tuple[int, int, int]]:
        """(id, start, end) for each piece of one word: "unaffable" -> un, ##aff, ##able; [UNK] when it cannot."""
        pieces = self.cache.get(word)
        if pieces is not None:
            return pieces
        unknown = [(self.vocab[self.unk_token], 0, len(word))]
        if len(word) > self.max_input_chars_per_word:  # long "words" are [UNK] at once, so a 1 MB word costs O(n)
            return unknown
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:  # the longest piece from `start` that is in the vocabulary
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    pieces.append((self.vocab[piece], start, end))
                    break
                end -= 1
            else:
                pieces = unknown  # no piece fits: the whole word is unknown
                break
            start = end
        if len(self.cache) < 100_000:
            self.cache[word] = pieces
        return pieces

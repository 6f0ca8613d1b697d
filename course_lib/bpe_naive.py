import re
import unicodedata
from collections import Counter
from functools import cache


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from the 256 byte values to 256 printable characters.

    Bytes that are already printable and not a space keep their own character ('A' -> 'A'); the other 68 (control
    bytes, space, a few Latin-1 ones) are moved past the Latin-1 block, in order: 0 -> 'Ā', ..., 32 (space) -> 'Ġ'.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in keep}
    moved = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + moved)
            moved += 1
    return dict(sorted(table.items()))


# Unicode's White_Space property: what \s means in the regex engine of GPT-2 and of 🤗 tokenizers.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _char_class(predicate) -> str:
    """A regex character class body for every code point where `predicate(character)` is true, as ranges."""
    ranges, start = [], None
    for cp in range(0x110000 + 1):
        inside = cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF and predicate(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append(re.escape(chr(start)) if start == cp - 1 else f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
            start = None
    return "".join(ranges)


@cache
def gpt2_pattern() -> re.Pattern:
    r"""GPT-2's pre-tokenization regex, in Python's `re`.

    The original is `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`. Python's `re` has no
    \p{L} (letters) or \p{N} (numbers), so we build those classes from the Unicode database (once, about 0.5 s).
    """
    letters = _char_class(lambda c: unicodedata.category(c)[0] == "L")
    numbers = _char_class(lambda c: unicodedata.category(c)[0] == "N")
    space = re.escape(WHITESPACE)
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{space}{letters}{numbers}]+"
        rf"|[{space}]+(?![^{space}])|[{space}]+"
    )


def pre_tokenize_gpt2(text: str) -> list[str]:
    """Split text into GPT-2's words: "Hello world!" -> ['Hello', ' world', '!']."""
    return gpt2_pattern().findall(text)


def get_pair_counts(words: dict[tuple[str, ...], int]) -> Counter:
    """Count adjacent symbol pairs over all words, each weighted by its word's count.

    {('a', 'a', 'b'): 2, ('a', 'b'): 1} -> {('a', 'a'): 2, ('a', 'b'): 3}
    """
    counts = Counter()
    for word, n in words.items():
        for pair in zip(word, word[1:]):
            counts[pair] += n
    return counts


def merge_pair(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """Replace every occurrence of `pair` in `word`, left to right: ('a','a','a'), ('a','a') -> ('aa','a')."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train_bpe_naive(word_counts: dict[str, int], vocab_size: int, alphabet: list[str] | None = None) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learn BPE merges the simple way: recount every pair over every word before each merge.

    Starts from the characters of the words (plus `alphabet`), sorted by code point, and merges the most frequent
    pair until the vocabulary has `vocab_size` tokens. Ties go to the pair whose token ids are smallest, as in
    🤗 tokenizers. Cost: (number of merges) x (size of the corpus): fine for a toy corpus, slow for a real one.
    """
    symbols = sorted(set(alphabet or []) | {c for word in word_counts for c in word})
    vocab = {s: i for i, s in enumerate(symbols)}
    words = {tuple(word): n for word, n in word_counts.items()}
    merges = []
    while len(vocab) < vocab_size:
        counts = get_pair_counts(words)
        if not counts:
            break
        # Most frequent first; among equals, the pair with the smallest ids (what BpeTrainer does).
        best = min(counts, key=lambda p: (-counts[p], vocab[p[0]], vocab[p[1]]))
        merges.append(best)
        vocab.setdefault(best[0] + best[1], len(vocab))
        words = {merge_pair(word, best): n for word, n in words.items()}
    return vocab, merges

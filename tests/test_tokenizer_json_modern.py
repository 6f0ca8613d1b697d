"""Chapter 2.6: the tokenizer.json components of Llama 3, Qwen2/2.5/3 and SmolLM against 🤗 tokenizers, offline.

No real Llama or Qwen checkpoint is in the offline cache: the files here are built by 🤗 tokenizers with the same
components (Split with the models' regexes, Sequence, NFC, ByteLevel without its regex, ignore_merges, a Sequence
post-processor) and a small byte-level BPE trained on tiny_shakespeare. course_lib reads them and must give the ids
and offsets 🤗 tokenizers gives, on the cached English texts and on seeded random Unicode; what course_lib writes back,
🤗 tokenizers reads and encodes identically. Where the two can differ (Unicode versions), the tests pin down how.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest
from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import Tokenizer as Reference

from course_lib.bpe import BPE
from course_lib.hub import load_hub_dataset
from course_lib.tokenizer import ByteLevel, Tokenizer
from course_lib.tokenizer_json import (
    LLAMA3_PATTERN,
    NFC,
    QWEN2_PATTERN,
    Digits,
    PreTokenizerSequence,
    Split,
    TokenizerFileError,
    compile_regex,
    load_tokenizer_file,
    save_tokenizer,
    tokenizer_from_dict,
    translate_regex,
    unicode_ranges,
)
from course_lib.wordpiece import Normalized


# Two more regexes of the same family: tiktoken's cl100k with possessive quantifiers, and o200k's (GPT-4o), which
# uses \p{Lu}, \p{Ll}, \p{Lt}, \p{Lm}, \p{Lo} and \p{M}.
CL100K_POSSESSIVE = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Characters for random text: many scripts, digits of several kinds, punctuation, symbols, emoji, combining marks,
# every kind of whitespace, controls, and the letters that case-insensitive matching treats specially.
BLOCKS = [(0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x391, 0x3C9), (0x400, 0x45F), (0x5B0, 0x5EA),
          (0x600, 0x669), (0x900, 0x97F), (0xE01, 0xE5B), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2150, 0x218B),
          (0x2190, 0x21FF), (0x3000, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAD00), (0xFF01, 0xFF5E),
          (0x10330, 0x1034A), (0x1D400, 0x1D4FF), (0x1F300, 0x1F64F)]
SPECIAL = ["'s", "'S", "'ll", "'LL", "'Re", "ſ", "K", "ﬅ", "İ", "ı", "ß", "\r\n", "\n\n", "   ", "\t", "\x0b", "\x0c",
           "\x1c", "\x85", "\u2028", "\u3000", "\u200d", "\ufe0f", "\U0001F44D\U0001F3FD", "e\u0301", "\u212b", "\u2126",
           "\u0958", "\u0f73", "\u0344", "1234567", "3.14", "١٢٣", "Ⅻ", "½", "²"]


def random_text(rng: random.Random, length: int) -> str:
    """Seeded random text from BLOCKS and SPECIAL, characters Python's Unicode database has assigned."""
    out = []
    while len(out) < length:
        if rng.random() < 0.2:
            out.append(rng.choice(SPECIAL))
            continue
        first, last = rng.choice(BLOCKS)
        c = chr(rng.randint(first, last))
        if unicodedata.category(c) not in ("Cn", "Cs"):
            out.append(c)
    return "".join(out)


RANDOM_TEXTS = [random_text(random.Random(seed), random.Random(seed).randint(0, 40)) for seed in range(3000)]


@pytest.fixture(scope="module")
def english() -> list[str]:
    """The cached English texts: SST-2 sentences, tiny_shakespeare's test lines, SQuAD contexts."""
    sst2 = list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"])
    shakespeare = load_hub_dataset("karpathy/tiny_shakespeare", split="test")[0]["text"].split("\n")
    contexts = list(dict.fromkeys(load_hub_dataset("rajpurkar/squad", "plain_text", split="validation")["context"]))
    return sst2 + shakespeare + contexts[:600]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [line for line in load_hub_dataset("karpathy/tiny_shakespeare", split="train")[0]["text"].split("\n") if line]


def byte_level_reference(lines, pre_tokenizer, normalizer=None, ignore_merges=False, special="<|endoftext|>"):
    tok = Reference(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=1000, special_tokens=[special], show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def split_then_bytes(pattern: str, trim_offsets: bool = True):
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=trim_offsets,
                                                             use_regex=False)])


def reload(reference: Reference, tmp_path_factory, name: str) -> tuple[Tokenizer, Reference]:
    """(course_lib's reading of the reference's tokenizer.json, the reference)."""
    path = tmp_path_factory.mktemp(name) / "tokenizer.json"
    reference.save(str(path))
    return load_tokenizer_file(path), reference


@pytest.fixture(scope="module")
def llama_like(lines, tmp_path_factory):
    """Llama 3's components: Split(Llama 3 regex, Isolated) + ByteLevel(use_regex=False), ignore_merges, and a
    Sequence post-processor (ByteLevel without trimming, then <|begin_of_text|> $A)."""
    tok = byte_level_reference(lines, split_then_bytes(LLAMA3_PATTERN), ignore_merges=True,
                               special="<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", 0)])])
    return reload(tok, tmp_path_factory, "llama")


@pytest.fixture(scope="module")
def qwen_like(lines, tmp_path_factory):
    """Qwen2's components: NFC + Split(Qwen regex, Isolated) + ByteLevel(use_regex=False), ByteLevel post-processor."""
    tok = byte_level_reference(lines, split_then_bytes(QWEN2_PATTERN, trim_offsets=False), normalizers.NFC())
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    return reload(tok, tmp_path_factory, "qwen")


@pytest.fixture(scope="module")
def smollm_like(lines, tmp_path_factory):
    """SmolLM's: Digits(individual_digits) + GPT-2's ByteLevel."""
    tok = byte_level_reference(lines, pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)]))
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return reload(tok, tmp_path_factory, "smollm")


@pytest.fixture(scope="module")
def trimming(lines, tmp_path_factory):
    """A Sequence pre-tokenizer with a ByteLevel post-processor that trims offsets (and NFC in a Sequence)."""
    tok = byte_level_reference(lines, split_then_bytes(LLAMA3_PATTERN), normalizers.Sequence([normalizers.NFC()]))
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True)
    return reload(tok, tmp_path_factory, "trimming")


def assert_same_encodings(ours: Tokenizer, theirs: Reference, texts: list[str]) -> None:
    for text, theirs_encoding in zip(texts, theirs.encode_batch(texts)):
        ours_encoding = ours.encode(text)
        assert ours_encoding.ids == theirs_encoding.ids, text
        assert ours_encoding.tokens == theirs_encoding.tokens, text
        assert ours_encoding.offsets == [tuple(o) for o in theirs_encoding.offsets], text


# --- the regexes ----------------------------------------------------------------------------------------------------

def members(pre_tokenize, text: str) -> set[int]:
    """The positions of `text` a one-character pattern matches, from a Split with behavior Removed."""
    kept = set()
    for _, (start, end) in pre_tokenize(text):
        kept.update(range(start, end))
    return set(range(len(text))) - kept


def test_classes_differ_from_onigurumas_only_on_characters_python_has_not_assigned():
    """\\p{..} and \\s built from Python's unicodedata against Oniguruma's own tables, on every code point: the only
    differences are characters newer than Python's Unicode version (category Cn, unassigned, to Python)."""
    everything = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    for pattern in [r"\p{L}", r"\p{N}", r"\p{M}", r"\p{Lu}", r"\s", r"\P{N}"]:
        theirs = members(pre_tokenizers.Split(Regex(pattern), behavior="removed").pre_tokenize_str, everything)
        ours = members(lambda t, p=pattern: [(w, (r.start, r.stop)) for w, r in Split(p, "Removed").split(t)], everything)
        differences = ours ^ theirs
        assert all(unicodedata.category(everything[i]) == "Cn" for i in differences), pattern
        assert len(differences) < 0.1 * len(theirs), pattern


@pytest.mark.parametrize("pattern", [LLAMA3_PATTERN, QWEN2_PATTERN, CL100K_POSSESSIVE, O200K], ids=["llama3", "qwen2", "cl100k", "o200k"])
def test_model_regexes_split_as_tokenizers_does(pattern):
    theirs = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    ours = Split(pattern)
    for text in RANDOM_TEXTS:
        assert [(w, (r.start, r.stop)) for w, r in ours.split(text)] == theirs.pre_tokenize_str(text), text


def test_the_llama3_and_qwen2_patterns_are_the_ones_in_the_files():
    """The regexes as transformers' tiktoken converter (Llama 3) and Qwen2's tokenizer.json write them."""
    assert LLAMA3_PATTERN == (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    assert QWEN2_PATTERN == (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    assert [w for w, _ in Split(LLAMA3_PATTERN).split("x 1234567")] == ["x", " ", "123", "456", "7"]
    assert [w for w, _ in Split(QWEN2_PATTERN).split("x 123")] == ["x", " ", "1", "2", "3"]


@pytest.mark.parametrize("pattern", [
    r"^\w?a|b$", r"(?m)a.b", r"a\z", r"a\Z", r"(?<first>a)(?P=first)", r"[\p{Lu}\d_-]+", r"[^\S\n]+", r"\h+",
    r"[]a]+", r"\P{N}+", r"\p{^L}+", r"(?>ab|a)b", r"[\p{Ll}]++",
])
def test_oniguruma_syntax_that_python_reads_differently(pattern):
    """Line anchors, (?m), \\z and \\Z, named groups, classes with escapes inside, \\h, ']' first in a class."""
    if r"\w" in pattern:
        with pytest.raises(ValueError, match=r"\\w at position 1 has no exact equivalent"):
            translate_regex(pattern)
        return
    if "(?<first>" in pattern:  # Oniguruma's back-reference is \k<first>; Python reads (?P=first) after the rename
        assert translate_regex(pattern).startswith("(?P<first>")
        return
    theirs = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    for text in ["a\nb", "a\nab\n", "ab", "aab\nb", "A1_-b\n  \t x", "abc\n", "]a]", "x12y", "AbcD", "  \n  "] + RANDOM_TEXTS[:300]:
        assert [(w, (r.start, r.stop)) for w, r in Split(pattern).split(text)] == theirs.pre_tokenize_str(text), (pattern, text)


@pytest.mark.parametrize("pattern, message", [
    (r"\p{Han}+", r"\\p\{Han\} is not a Unicode general category"),
    (r"\p{Greek}", r"translates L, Lu"),
    (r"a\b", r"\\b at position 1 has no exact equivalent"),
    (r"\X", r"\\X at position 0"),
    (r"[[:alpha:]]", r"nested classes and intersections"),
    (r"[a-z&&[^aeiou]]", r"nested classes and intersections"),
    (r"[abc", r"the class opened at position 0 is not closed"),
    (r"\p{L", r"should be followed by \{name\}"),
    (r"(?<=a+)b", r"Python's re cannot compile its translation"),
])
def test_untranslatable_regexes_are_refused_with_the_reason(pattern, message):
    with pytest.raises(ValueError, match=message):
        compile_regex(pattern)


def test_unicode_ranges():
    assert unicode_ranges("Nd")[:2] == [(48, 57), (1632, 1641)]
    assert all(unicodedata.category(chr(cp)).startswith("N") for a, b in unicode_ranges("N") for cp in range(a, b + 1))
    with pytest.raises(ValueError, match="'Han' is not a Unicode general category"):
        unicode_ranges("Han")


# --- Split's behaviors, Digits, Sequence ----------------------------------------------------------------------------

BEHAVIORS = {"Isolated": "isolated", "Removed": "removed", "MergedWithPrevious": "merged_with_previous",
             "MergedWithNext": "merged_with_next", "Contiguous": "contiguous"}


@pytest.mark.parametrize("behavior", BEHAVIORS)
@pytest.mark.parametrize("pattern, literal", [("-", True), ("--", True), ("-", False), (r"\s+", False), (r"\p{N}", False),
                                              ("x?", False), ("-*", False), ("(?=-)", False), ("-|(?=x)", False)])
def test_split_behaviors_match_tokenizers(behavior, pattern, literal):
    """Every behavior, inverted or not, and patterns with empty matches (Oniguruma's search loop skips some)."""
    rng = random.Random(0)
    texts = ["", "-", "the-final--countdown-", "-a-", "x-x", "--x--"] + [
        "".join(rng.choice("ab-- x1 2\n") for _ in range(rng.randint(0, 12))) for _ in range(300)]
    for invert in (False, True):
        theirs = pre_tokenizers.Split(pattern if literal else Regex(pattern), behavior=BEHAVIORS[behavior], invert=invert)
        ours = Split(pattern, behavior, invert, literal=literal)
        for text in texts:
            assert [(w, (r.start, r.stop)) for w, r in ours.split(text)] == theirs.pre_tokenize_str(text), (text, invert)


@pytest.mark.parametrize("individual_digits", [True, False])
def test_digits_match_tokenizers(individual_digits):
    theirs = pre_tokenizers.Digits(individual_digits=individual_digits)
    for text in RANDOM_TEXTS + ["a1234b", "12 34", "١٢٣x"]:
        assert [(w, (r.start, r.stop)) for w, r in Digits(individual_digits).split(text)] == theirs.pre_tokenize_str(text)


def test_a_sequence_keeps_positions_in_the_original_text():
    sequence = PreTokenizerSequence([Split(LLAMA3_PATTERN), ByteLevel(use_regex=False)])
    theirs = split_then_bytes(LLAMA3_PATTERN)
    for text in RANDOM_TEXTS:
        ours = [(w, (origin[0], origin[-1] + 1)) for w, origin in sequence.split(text)]
        assert [w for w, _ in ours] == [w for w, _ in theirs.pre_tokenize_str(text)], text
        for (word, (start, end)), (_, (their_start, their_end)) in zip(ours, theirs.pre_tokenize_str(text)):
            assert (start, end) == (their_start, their_end), (text, word)


# --- NFC -----------------------------------------------------------------------------------------------------------

def nfc_reference() -> Reference:
    """🤗's NFC with each normalized character a token of its own: its offsets say where the character came from."""
    tok = Reference(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    return tok


def test_nfc_text_and_positions_match_tokenizers_on_random_marks():
    """Decomposition, canonical reordering of marks and composition, with the position 🤗 gives each character."""
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0323", "\u0345", "\u05b0", "\u0f71", "\u0f72", "\u0f80", "\u093c",
                                                     "\u0b3e", "\u0bbe", "\u0dca", "\u3099", "\u309a"]
    bases = list("aeiouAEIOUnNcCsSyYzZwW ") + ["\u1100", "\u1161", "\u11a8", "\uac00", "\u212b", "\u2126", "\u0958",
                                               "\u0f73", "\u0f75", "\u0344", "\u0340", "\u0b47", "\u0bc6", "\u0dd9",
                                               "\u1e9b", "\u00c5", "\u0915", "\u05d9", "\ufb1d", "\u304b", "\u30cf"]
    reference, rng = nfc_reference(), random.Random(0)
    for _ in range(5000):
        text = "".join(rng.choice(bases + marks) for _ in range(rng.randint(1, 8)))
        ours = NFC().normalize(Normalized.of(text))
        assert ours.text == reference.normalizer.normalize_str(text) == unicodedata.normalize("NFC", text), text
        assert [(o, o + 1) for o in ours.origin] == reference.encode(text).offsets, text


def test_nfc_follows_pythons_unicode_where_tokenizers_tables_are_older():
    """🤗's NFC uses older tables (Unicode 9.0's, judging by the marks it knows): U+11938 (Unicode 13) stays
    decomposed, U+07FD (Unicode 11) is not reordered. course_lib follows Python's unicodedata, as the notebook says."""
    reference = nfc_reference()
    for text in ["\U00011935\U00011930", "a\u07fd\u0301"]:
        assert NFC().normalize(Normalized.of(text)).text == unicodedata.normalize("NFC", text)
        assert reference.normalizer.normalize_str(text) != unicodedata.normalize("NFC", text)


# --- whole tokenizers: ids, tokens, offsets, decoding ------------------------------------------------------------

@pytest.mark.parametrize("which", ["llama_like", "qwen_like", "smollm_like", "trimming"])
def test_identical_encodings_on_the_cached_english_texts(which, english, request):
    ours, theirs = request.getfixturevalue(which)
    assert_same_encodings(ours, theirs, english)


@pytest.mark.parametrize("which", ["llama_like", "qwen_like", "smollm_like", "trimming"])
def test_identical_encodings_on_random_unicode(which, request):
    ours, theirs = request.getfixturevalue(which)
    assert_same_encodings(ours, theirs, RANDOM_TEXTS)


def test_what_the_files_say_is_what_was_read(llama_like, qwen_like, smollm_like):
    llama, _ = llama_like
    assert isinstance(llama.pre_tokenizer, PreTokenizerSequence) and llama.model.ignore_merges
    assert [type(step).__name__ for step in llama.pre_tokenizer.steps] == ["Split", "ByteLevel"]
    assert llama.pre_tokenizer.steps[1].use_regex is False and llama.normalizer is None
    assert llama.encode("Hi").tokens[0] == "<|begin_of_text|>" and llama.encode("Hi").offsets[0] == (0, 0)
    qwen, _ = qwen_like
    assert isinstance(qwen.normalizer, NFC) and not qwen.model.ignore_merges and qwen.post_processor is None
    smollm, _ = smollm_like
    assert [type(step).__name__ for step in smollm.pre_tokenizer.steps] == ["Digits", "ByteLevel"]


@pytest.mark.parametrize("which", ["llama_like", "qwen_like", "smollm_like"])
def test_decoding_gives_the_text_back(which, request, english):
    ours, theirs = request.getfixturevalue(which)
    for text in english[:300] + RANDOM_TEXTS[:1000]:
        ids = ours.encode(text).ids
        expected = unicodedata.normalize("NFC", text) if which == "qwen_like" else text
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids) == expected, text


def test_pairs_match_with_the_llama_template(llama_like, english):
    ours, theirs = llama_like
    for a, b in zip(english[:200], english[1:201]):
        x, y = ours.encode(a, b), theirs.encode(a, b)
        assert (x.ids, x.type_ids, x.offsets) == (y.ids, y.type_ids, [tuple(o) for o in y.offsets])


def test_ignore_merges_keeps_a_word_that_is_a_token_whole():
    """Merges (b, c), (a, b), (ab, c): they make "abc" into a + bc, unless ignore_merges takes the word as it is."""
    vocab = {"a": 0, "b": 1, "c": 2, "bc": 3, "ab": 4, "abc": 5}
    merges = [("b", "c"), ("a", "b"), ("ab", "c")]
    for ignore_merges in (False, True):
        theirs = Reference(models.BPE(vocab, merges, ignore_merges=ignore_merges))
        ours = BPE(vocab, merges, ignore_merges=ignore_merges)
        assert ours.tokenize_word("abc") == theirs.encode("abc").ids == ([5] if ignore_merges else [0, 3])


# --- writing back what was read ------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["llama_like", "qwen_like", "smollm_like", "trimming"])
def test_what_course_lib_writes_tokenizers_reads_with_the_same_encodings(which, request, english, tmp_path):
    ours, theirs = request.getfixturevalue(which)
    saved = Reference.from_file(str(save_tokenizer(ours, tmp_path)))
    original, written = json.loads(theirs.to_str()), json.loads(saved.to_str())
    for stage in ("normalizer", "pre_tokenizer"):
        assert written[stage] == original[stage], stage
    assert written["model"]["ignore_merges"] == original["model"]["ignore_merges"]
    texts = english[:500] + RANDOM_TEXTS[:1000]
    for x, y in zip(saved.encode_batch(texts), theirs.encode_batch(texts)):
        assert (x.ids, x.offsets) == (y.ids, y.offsets)
    again = load_tokenizer_file(tmp_path / "tokenizer.json")  # and course_lib reads its own file the same way
    assert_same_encodings(again, theirs, texts[:300])


def test_a_roberta_style_tokenizer_keeps_trimmed_offsets_through_a_round_trip(lines, tmp_path):
    """RobertaProcessing trims offsets; written back, it becomes a Sequence of ByteLevel (trimming) and a template."""
    tok = byte_level_reference(lines, pre_tokenizers.ByteLevel(add_prefix_space=False), special="<s>")
    tok.add_special_tokens(["</s>"])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", 0), trim_offsets=True)
    tok.save(str(tmp_path / "original.json"))
    ours = load_tokenizer_file(tmp_path / "original.json")
    saved = Reference.from_file(str(save_tokenizer(ours, tmp_path / "saved")))
    assert json.loads(saved.to_str())["post_processor"]["type"] == "Sequence"
    texts = lines[:300]
    for x, y in zip(saved.encode_batch(texts), tok.encode_batch(texts)):
        assert (x.ids, x.offsets) == (y.ids, y.offsets)


# --- files course_lib cannot read: errors that name the field --------------------------------------------------------

@pytest.fixture(scope="module")
def llama_json(llama_like) -> dict:
    return json.loads(llama_like[1].to_str())


def _changed(data: dict, change) -> dict:
    data = json.loads(json.dumps(data))
    change(data)
    return data


@pytest.mark.parametrize("change, message", [
    (lambda d: d["pre_tokenizer"]["pretokenizers"][0].update(behavior="Sideways"),
     r"'pre_tokenizer.pretokenizers\[0\].behavior' is 'Sideways', which course_lib does not implement \(it reads Isolated"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"][0].update(pattern={"Regex": r"\p{Han}+"}),
     r"'pre_tokenizer.pretokenizers\[0\].pattern.Regex' cannot be read: regex .*\\p\{Han\} is not a Unicode general"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"][0].update(pattern={"Regex": r"\w+"}),
     r"pattern.Regex' cannot be read: .*\\w at position 0 has no exact equivalent"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"][0].update(pattern={"Glob": "*"}),
     r"'pre_tokenizer.pretokenizers\[0\].pattern' should be \{\"Regex\": \"...\"\} or \{\"String\": \"...\"\}"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"][0].pop("behavior"), r"'pre_tokenizer.pretokenizers\[0\].behavior' is missing"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"].append({"type": "Metaspace"}),
     r"'pre_tokenizer.pretokenizers\[2\].type' is 'Metaspace', which course_lib does not implement"),
    (lambda d: d["pre_tokenizer"]["pretokenizers"].append(["not", "an", "object"]),
     r"'pre_tokenizer.pretokenizers\[2\]' should be an object, got list"),
    (lambda d: d.update(normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "NFKC"}]}),
     r"'normalizer.normalizers\[1\].type' is 'NFKC', which course_lib does not implement \(it reads BertNormalizer, NFC, Sequence\)"),
    (lambda d: d["post_processor"]["processors"].append(d["post_processor"]["processors"][1]),
     r"'post_processor.processors\[2\]' is a second template"),
    (lambda d: d["post_processor"]["processors"][1].update(type="Fancy"),
     r"'post_processor.processors\[1\].type' is 'Fancy'"),
    (lambda d: d["model"].update(ignore_merges="yes"), r"'model.ignore_merges' should be bool, got str"),
])
def test_unsupported_or_damaged_components_name_the_field(llama_json, change, message):
    with pytest.raises(TokenizerFileError, match=message):
        tokenizer_from_dict(_changed(llama_json, change))


def test_split_refuses_an_unknown_behavior():
    with pytest.raises(ValueError, match="behavior 'isolated' is not one of Isolated, Removed"):
        Split(LLAMA3_PATTERN, "isolated")


def test_the_translation_is_built_once_per_pattern():
    assert compile_regex(LLAMA3_PATTERN) is compile_regex(LLAMA3_PATTERN)
    assert isinstance(compile_regex(LLAMA3_PATTERN), re.Pattern)

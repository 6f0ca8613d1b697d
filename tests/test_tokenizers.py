"""Chapter 2: course_lib's tokenizers against 🤗 tokenizers (and 🤗 Transformers' tokenizer API), offline.

Parity on every sentence of GLUE SST-2 and MRPC, on random Unicode text, and for BPE training on tiny_shakespeare;
round trips through tokenizer.json in both directions; and the bad inputs of the issue, each with a defined result.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import torch
from huggingface_hub import snapshot_download
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer as Reference
from tokenizers import decoders, models, pre_tokenizers, trainers

from course_lib.bpe import BPE, BYTE_TO_CHAR, byte_level_words, train_bpe
from course_lib.bpe_naive import bytes_to_unicode, train_bpe_naive
from course_lib.hub import load_hub_dataset
from course_lib.tokenizer import ByteLevel, TemplateProcessing, Tokenizer, Truncation
from course_lib.tokenizer_json import TokenizerFileError, load_tokenizer, load_tokenizer_file, save_tokenizer


MINILM = "sentence-transformers/all-MiniLM-L6-v2"
FIELDS = ("ids", "type_ids", "attention_mask", "offsets")


def same(ours, theirs) -> bool:
    return all(list(getattr(ours, f)) == [tuple(x) if f == "offsets" else x for x in getattr(theirs, f)] for f in FIELDS)


@pytest.fixture(scope="module")
def minilm_folder() -> Path:
    return Path(snapshot_download(MINILM))


@pytest.fixture(scope="module")
def minilm(minilm_folder):
    """(ours, reference): the MiniLM tokenizer as its tokenizer.json defines it (truncate and pad to 128)."""
    return load_tokenizer(minilm_folder), Reference.from_file(str(minilm_folder / "tokenizer.json"))


@pytest.fixture(scope="module")
def minilm_unpadded(minilm_folder):
    ours, ref = load_tokenizer(minilm_folder), Reference.from_file(str(minilm_folder / "tokenizer.json"))
    ours.padding = ours.truncation = None
    ref.no_padding()
    ref.no_truncation()
    return ours, ref


@pytest.fixture(scope="module")
def shakespeare() -> str:
    return load_hub_dataset("karpathy/tiny_shakespeare", split="train")[0]["text"]


def train_reference(text: str, vocab_size: int, special_tokens=()) -> Reference:
    tok = Reference(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
        special_tokens=list(special_tokens)))
    return tok


@pytest.fixture(scope="module")
def bpe_tokenizer(shakespeare):
    vocab, merges = train_bpe(Counter(byte_level_words(shakespeare)), 1024, alphabet=BYTE_TO_CHAR.values(),
                              special_tokens=["<|endoftext|>"])
    return Tokenizer(BPE(vocab, merges), pre_tokenizer=ByteLevel(), decoder=ByteLevel(),
                     added_tokens=[{"content": "<|endoftext|>", "special": True}],
                     special_tokens_map={"eos_token": "<|endoftext|>"})


# --- WordPiece parity on real data ------------------------------------------------------------------------------

def test_wordpiece_matches_on_every_sst2_sentence(minilm):
    ours, ref = minilm
    sst2 = load_hub_dataset("nyu-mll/glue", "sst2")
    for split in sst2:
        sentences = list(sst2[split]["sentence"])
        mismatched = [s for s, e in zip(sentences, ref.encode_batch(sentences)) if not same(ours.encode(s), e)]
        assert mismatched == [], f"{len(mismatched)} {split} sentences differ, e.g. {mismatched[:3]}"


def test_wordpiece_matches_on_every_mrpc_pair(minilm):
    ours, ref = minilm
    mrpc = load_hub_dataset("nyu-mll/glue", "mrpc")
    for split in mrpc:
        pairs = list(zip(mrpc[split]["sentence1"], mrpc[split]["sentence2"]))
        mismatched = [p for p, e in zip(pairs, ref.encode_batch(pairs)) if not same(ours.encode(*p), e)]
        assert mismatched == [], f"{len(mismatched)} {split} pairs differ, e.g. {mismatched[:3]}"


def test_the_nlp_course_sentence(minilm_unpadded):
    ours, _ = minilm_unpadded
    assert ours("I've been waiting for a HuggingFace course my whole life.")["input_ids"] == [
        101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026, 2878, 2166, 1012, 102]


# 🤗 tokenizers classifies accents, punctuation and control characters with Unicode tables older than Python 3.11's
# (Unicode 14), so characters assigned or recategorised since can legitimately differ. Random text is drawn from the
# characters whose category is the same in Unicode 3.2 and in Python's Unicode: every script in common use.
STABLE = st.characters(exclude_categories=("Cs", "Cn")).filter(
    lambda c: unicodedata.ucd_3_2_0.category(c) == unicodedata.category(c))


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(STABLE, max_size=60), st.one_of(st.none(), st.text(STABLE, max_size=30)))
def test_wordpiece_matches_on_random_unicode(minilm_unpadded, text, pair):
    ours, ref = minilm_unpadded
    assert same(ours.encode(text, pair), ref.encode(text, pair))


# --- BPE training and encoding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("vocab_size", [1024, 4096])
def test_bpe_training_matches_bpe_trainer(shakespeare, vocab_size):
    vocab, merges = train_bpe(Counter(byte_level_words(shakespeare)), vocab_size, alphabet=BYTE_TO_CHAR.values())
    ref = train_reference(shakespeare, vocab_size)
    model = json.loads(ref.to_str())["model"]
    assert vocab == model["vocab"]
    assert merges == [tuple(m) for m in model["merges"]]
    validation = load_hub_dataset("karpathy/tiny_shakespeare", split="validation")[0]["text"]
    tok = Tokenizer(BPE(vocab, merges), pre_tokenizer=ByteLevel(), decoder=ByteLevel())
    assert tok.encode(validation).ids == ref.encode(validation).ids


def test_bpe_training_with_special_tokens_matches(shakespeare):
    vocab, merges = train_bpe(Counter(byte_level_words(shakespeare[:200_000])), 600, alphabet=BYTE_TO_CHAR.values(),
                              special_tokens=["<|endoftext|>", "<pad>"])
    model = json.loads(train_reference(shakespeare[:200_000], 600, ["<|endoftext|>", "<pad>"]).to_str())["model"]
    assert vocab == model["vocab"] and merges == [tuple(m) for m in model["merges"]]
    assert vocab["<|endoftext|>"] == 0 and vocab["<pad>"] == 1


def test_the_fast_trainer_learns_what_the_naive_one_learns(shakespeare):
    words = Counter(byte_level_words(shakespeare[:60_000]))
    alphabet = list(bytes_to_unicode().values())
    assert train_bpe(words, 420, alphabet) == train_bpe_naive(words, 420, alphabet)


def test_naive_trainer_on_the_classic_example():
    vocab, merges = train_bpe_naive({"aaabdaaabac": 1}, 7)
    assert merges == [("a", "a"), ("a", "b"), ("aa", "ab")] and vocab["aaab"] == 6


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=200))
def test_byte_level_decode_inverts_encode_for_every_string(bpe_tokenizer, text):
    assert bpe_tokenizer.decode(bpe_tokenizer.encode(text).ids) == text


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(st.sampled_from("abcde Ġt"), min_size=2, max_size=400))
def test_the_long_word_merge_gives_the_same_tokens(bpe_tokenizer, word):
    model = bpe_tokenizer.model
    ids = [model.vocab[c] for c in "".join(BYTE_TO_CHAR[b] for b in word.encode())]
    assert model._merge_long(list(ids)) == model._merge(list(ids))


def test_byte_level_offsets_match_and_round_trip_through_tokenizer_json(bpe_tokenizer, tmp_path):
    ref = Reference.from_file(str(save_tokenizer(bpe_tokenizer, tmp_path)))
    text = "ROMEO: naïve café, 東京 🤗 \u0301x<|endoftext|>  end\n"
    ours, theirs = bpe_tokenizer.encode(text), ref.encode(text)
    assert ours.ids == theirs.ids and ours.offsets == theirs.offsets
    assert ref.decode(theirs.ids, skip_special_tokens=False) == text


# --- tokenizer.json, both directions ------------------------------------------------------------------------------

def test_what_course_lib_saves_tokenizers_loads_and_encodes_identically(minilm, tmp_path):
    ours, _ = minilm
    ref = Reference.from_file(str(save_tokenizer(ours, tmp_path)))
    sentences = list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"])
    assert all(same(ours.encode(s), e) for s, e in zip(sentences, ref.encode_batch(sentences)))
    reloaded = load_tokenizer(tmp_path)
    assert reloaded.encode(sentences[0]).ids == ours.encode(sentences[0]).ids and reloaded.model_max_length == 512


def test_transformers_reads_what_course_lib_saves(minilm, tmp_path):
    from transformers import AutoTokenizer

    ours, _ = minilm
    ours.save_pretrained(tmp_path)
    theirs = AutoTokenizer.from_pretrained(tmp_path)
    text = "Hello, world! [MASK] naïve"
    assert theirs(text)["input_ids"] == Tokenizer.from_pretrained(tmp_path)(text)["input_ids"]
    # pairs too, token type ids included (BERT reads them): the same three lists as ours
    assert dict(theirs(text, "a second text")) == Tokenizer.from_pretrained(tmp_path)(text, "a second text")


def test_decode_matches(minilm_unpadded):
    ours, ref = minilm_unpadded
    for s in list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"])[:200]:
        ids = ref.encode(s).ids
        assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=False)


# --- the 🤗 Transformers calling conventions, against transformers itself ------------------------------------------

@pytest.fixture(scope="module")
def hf(minilm_folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_folder)


CALLS = [
    dict(),
    dict(padding=True),
    dict(padding="max_length", max_length=20, truncation=True),
    dict(truncation=True, max_length=8),
    dict(padding="longest", truncation="only_second", max_length=24, pair=True),
    dict(truncation="longest_first", max_length=12, pair=True),
    dict(padding=True, return_offsets_mapping=True, pair=True),
    dict(padding=True, pad_to_multiple_of=8, return_special_tokens_mask=True),
    dict(add_special_tokens=False, padding=True),
]


@pytest.mark.parametrize("kwargs", CALLS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_calls_match_transformers(minilm_unpadded, hf, kwargs):
    ours, _ = minilm_unpadded
    kwargs = dict(kwargs)
    texts = ["I've been waiting for a HuggingFace course my whole life.", "So have I!", "",
             "Paris is the [MASK] of France. Ünïcödé and 東京"]
    pairs = ["A short answer.", "Another, much longer second sentence that will need truncating.", "x", "   "]
    args = (texts, pairs) if kwargs.pop("pair", False) else (texts,)
    ours_out, theirs = ours(*args, **kwargs), hf(*args, **kwargs)
    assert set(ours_out) == set(theirs)
    for key in theirs:
        assert [list(map(tuple, x)) if key == "offset_mapping" else x for x in theirs[key]] == ours_out[key], key


def test_single_text_and_tensors_match_transformers(minilm_unpadded, hf):
    ours, _ = minilm_unpadded
    assert ours("Hello there!") == dict(hf("Hello there!"))
    a = ours(["Hello there!", "Hi"], padding=True, return_tensors="pt")
    b = hf(["Hello there!", "Hi"], padding=True, return_tensors="pt")
    assert all(torch.equal(a[k], b[k]) and a[k].dtype == torch.long for k in b)
    assert ours.tokenize("Tokenization, unbelievably!") == hf.tokenize("Tokenization, unbelievably!")
    assert ours.convert_tokens_to_ids(["[CLS]", "hello", "[FOO]"]) == hf.convert_tokens_to_ids(["[CLS]", "hello", "[FOO]"])
    assert (ours.cls_token_id, ours.sep_token, ours.pad_token_id, ours.mask_token, ours.bos_token) == (
        hf.cls_token_id, hf.sep_token, hf.pad_token_id, hf.mask_token, hf.bos_token)


def test_added_special_tokens_are_matched_whole_and_skipped_in_decode(minilm_folder):
    tok = load_tokenizer(minilm_folder)
    tok.padding = None
    assert tok.add_special_tokens({"additional_token": "<|user|>"}) == 1
    assert tok.add_special_tokens(["<|user|>"]) == 0  # already there
    encoded = tok("<|user|> hello")
    assert tok.convert_ids_to_tokens(encoded["input_ids"]) == ["[CLS]", "<|user|>", "hello", "[SEP]"]
    assert encoded["input_ids"][1] == 30522 and tok.decode(encoded["input_ids"], skip_special_tokens=True) == "hello"


# --- bad input: a clear error or a defined result -----------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\t\n\r", "\x00\x01\x7f\u200b\ufeff", "🤗🤗 👩‍👩‍👧 e\u0301\u0301",
                                  "한국어와 中文 والعربية mixed", "\u0301", "a" * 150, "x\ufffdy"])
def test_odd_text_gives_what_tokenizers_gives(minilm_unpadded, bpe_tokenizer, tmp_path, text):
    ours, ref = minilm_unpadded
    assert same(ours.encode(text), ref.encode(text))
    byte_level = Reference.from_file(str(save_tokenizer(bpe_tokenizer, tmp_path)))
    assert bpe_tokenizer.encode(text).ids == byte_level.encode(text).ids


def test_a_one_megabyte_word(minilm_unpadded, bpe_tokenizer, tmp_path):
    rng = random.Random(0)
    word = "".join(rng.choice("abcdefghij") for _ in range(1_000_000))
    ours, _ = minilm_unpadded
    assert ours.encode(word).tokens == ["[CLS]", "[UNK]", "[SEP]"]  # over 100 characters: unknown, at once
    byte_level = Reference.from_file(str(save_tokenizer(bpe_tokenizer, tmp_path)))
    assert bpe_tokenizer.encode(word).ids == byte_level.encode(word).ids


def test_lone_surrogates_are_refused_with_a_way_out(minilm_unpadded):
    ours, _ = minilm_unpadded
    with pytest.raises(ValueError, match=r"lone surrogate U\+D800 at position 1, .* replace"):
        ours("a\ud800b")
    with pytest.raises(ValueError, match="text_pair has a lone surrogate"):
        ours("a", "\udfff")


@pytest.mark.parametrize("call, message", [
    (lambda t: t("x", truncation=True, max_length=1), r"max_length=1 leaves no room for the 2 special tokens"),
    (lambda t: t("x", "y", truncation=True, max_length=2), r"max_length=2 leaves no room for the 3 special tokens"),
    (lambda t: t("a b c", "d", truncation="only_second", max_length=5), r"only_second.* second sequence has only 1"),
    (lambda t: t("a b c", truncation="only_second", max_length=3), r"needs a pair"),
    (lambda t: t(["a", "b c d"], return_tensors="pt"), r"different lengths .* padding=True"),
    (lambda t: t("a", return_tensors="np"), r"return_tensors='np'"),
    (lambda t: t([]), r"batch is empty"),
    (lambda t: t(["a", "b"], ["c"]), r"2 text\(s\) and 1 pair"),
    (lambda t: t("a", padding="sideways"), r"padding='sideways'"),
    (lambda t: t("a", truncation="middle_out", max_length=4), r"'middle_out' is not one of"),
])
def test_bad_arguments_say_what_to_do(minilm_unpadded, call, message):
    ours, _ = minilm_unpadded
    with pytest.raises(ValueError, match=message):
        call(ours)


def test_wrong_types_and_unknown_tokens(minilm_unpadded):
    ours, _ = minilm_unpadded
    with pytest.raises(TypeError, match="text must be a string, got int"):
        ours(42)
    with pytest.raises(TypeError, match="got NoneType"):
        ours([None])
    assert ours.convert_tokens_to_ids("[NOT-A-TOKEN]") == ours.unk_token_id
    with pytest.raises(IndexError, match="id 99999 is not in the vocabulary"):
        ours.convert_ids_to_tokens(99999)
    with pytest.raises(ValueError, match="non-empty string"):
        ours.add_special_tokens({"pad_token": ""})
    with pytest.raises(ValueError, match=r"template token '\[FOO\]' has no id"):
        TemplateProcessing([("[FOO]", 0), ("$A", 0)], [("$A", 0), ("$B", 1)], {})
    with pytest.raises(ValueError, match="batch_decode"):
        ours.decode([[1, 2]])
    # Bytes are not text (iterating them gives ints): say so, and how to get text.
    for call in (lambda: ours(b"abc"), lambda: ours.encode(b"abc"), lambda: ours("a", b"b")):
        with pytest.raises(TypeError, match=r"got bytes: b'.*'; decode them first, e.g. text.decode\('utf-8'\)"):
            call()
    # Token ids are whole numbers: a float, even 2.0, is refused instead of being truncated to an id.
    for ids in ([1.5, 2.0], [2.0], torch.tensor([1.0, 2.0])):
        with pytest.raises(TypeError, match=r"decode takes token ids, whole numbers, got (1.5|2.0|1.0) \(float\)"):
            ours.decode(ids)
    assert ours.decode(torch.tensor([2023, 2003])) == ours.decode([2023, 2003]) == "this is"


def test_a_tokenizer_without_unknown_token_says_so(bpe_tokenizer):
    with pytest.raises(KeyError, match="no unknown token"):
        bpe_tokenizer.convert_tokens_to_ids("definitely not a token")
    assert bpe_tokenizer.pad_token is None
    with pytest.raises(ValueError, match="no pad_token"):
        bpe_tokenizer(["a", "bb"], padding=True)


# --- damaged tokenizer.json files name the file and the field ------------------------------------------------------

@pytest.fixture(scope="module")
def minilm_json(minilm_folder) -> dict:
    return json.loads((minilm_folder / "tokenizer.json").read_text(encoding="utf-8"))


def _broken(minilm_json, change):
    data = json.loads(json.dumps(minilm_json))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize("content, message", [
    (lambda d: json.dumps(d)[:100_000], r"is not valid JSON \(.*line 1.*\); the file looks cut short"),
    (lambda d: "", r"is not valid JSON"),
    (lambda d: "[1, 2]", r"should hold a JSON object, got list"),
    (lambda d: _broken(d, lambda x: x.pop("model")), r"field 'model' is missing"),
    (lambda d: _broken(d, lambda x: x["model"].pop("vocab")), r"field 'model.vocab' is missing"),
    (lambda d: _broken(d, lambda x: x["model"].update(vocab=[1, 2])), r"field 'model.vocab' should be dict, got list"),
    (lambda d: _broken(d, lambda x: x["model"]["vocab"].update({"[UNK]": "x"})), r"'model.vocab' should map every token"),
    (lambda d: _broken(d, lambda x: x["model"].update(type="Unigram")), r"'model.type' is 'Unigram'.*reads WordPiece, BPE"),
    (lambda d: _broken(d, lambda x: x["normalizer"].update(lowercase="yes")), r"'normalizer.lowercase' should be bool"),
    (lambda d: _broken(d, lambda x: x["pre_tokenizer"].pop("type")), r"field 'pre_tokenizer.type' is missing"),
    (lambda d: _broken(d, lambda x: x["added_tokens"][0].update(id=7)), r"'added_tokens\[0\].id' is 7 but model.vocab"),
    (lambda d: _broken(d, lambda x: x["truncation"].update(strategy="Sideways")), r"'truncation.strategy' is 'Sideways'"),
    (lambda d: _broken(d, lambda x: x["post_processor"]["single"].append({"Oops": {}})), r"post_processor.single\[3\]"),
    (lambda d: json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}}), r"'model.merges\[0\]' should be"),
    (lambda d: json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}}), r"'aa' is not in the vocabulary"),
])
def test_damaged_tokenizer_json(minilm_json, tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_text(content(minilm_json), encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=message) as error:
        load_tokenizer_file(path)
    assert str(path) in str(error.value)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tokenizer_file(tmp_path / "nothing.json")
    (tmp_path / "latin1.json").write_bytes(b'{"model": "caf\xe9"}')
    with pytest.raises(TokenizerFileError, match="not UTF-8"):
        load_tokenizer_file(tmp_path / "latin1.json")
    with pytest.raises(FileNotFoundError, match="no tokenizer.json"):
        load_tokenizer(tmp_path)


# --- words, windows: what token classification and question answering need (chapter 11) ---------------------------

@pytest.fixture(scope="module")
def conll():
    data = load_hub_dataset("eriktks/conll2003", "conll2003", revision="refs/convert/parquet")
    return [words for split in ("train", "validation", "test") for words in data[split]["tokens"]]


@pytest.fixture(scope="module")
def squad():
    return load_hub_dataset("rajpurkar/squad", "plain_text", split="validation")


def _columns(batch) -> dict:
    """A tokenizer's output as plain JSON values: tensors to lists, offset tuples to lists."""
    return json.loads(json.dumps({k: v.tolist() if hasattr(v, "tolist") else v for k, v in batch.items()}))


def test_split_words_match_transformers_on_every_conll_sentence(minilm_unpadded, hf, conll):
    ours, _ = minilm_unpadded
    assert len(conll) == 14041 + 3250 + 3453
    for start in range(0, len(conll), 1000):
        words = conll[start:start + 1000]
        a = ours(words, is_split_into_words=True, return_offsets_mapping=True, truncation=True, max_length=128)
        b = hf(words, is_split_into_words=True, return_offsets_mapping=True, truncation=True, max_length=128)
        assert _columns(a) == _columns(b)
        assert all(a.word_ids(i) == b.word_ids(i) and a.sequence_ids(i) == b.sequence_ids(i) for i in range(len(words)))


def test_split_words_single_pair_padding_and_tensors(minilm_unpadded, hf):
    ours, _ = minilm_unpadded
    words, other = ["Hugging", "Face", "is", "in", "N.Y.C.", "", "naïve"], ["Where", "is", "it?"]
    for args, kwargs in [((words,), {}), ((words, other), {"return_offsets_mapping": True}),
                         (([words, other], [other, words]), {"padding": True}),
                         (([words, other],), {"padding": True, "return_tensors": "pt"}), (([],), {})]:
        a, b = ours(*args, is_split_into_words=True, **kwargs), hf(*args, is_split_into_words=True, **kwargs)
        assert _columns(a) == _columns(b)
        assert a.word_ids() == b.word_ids() and a.sequence_ids() == b.sequence_ids() and a.tokens() == b.tokens()


WINDOW_CALLS = [
    dict(truncation="only_second", max_length=384, stride=128),
    dict(truncation="only_second", max_length=100, stride=30, padding="max_length"),
    dict(truncation="only_second", max_length=64, stride=0, padding=True),
    dict(truncation="longest_first", max_length=80, stride=10),
    dict(truncation="only_first", max_length=120, stride=50, swap=True),
    dict(truncation=True, max_length=50, stride=20, single=True),
]


@pytest.mark.parametrize("kwargs", WINDOW_CALLS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_overflowing_windows_match_transformers_on_squad(minilm_unpadded, hf, squad, kwargs):
    ours, _ = minilm_unpadded
    kwargs = dict(kwargs, return_overflowing_tokens=True, return_offsets_mapping=True)
    rows = squad.select(range(0, len(squad), 7))  # 1,510 questions on contexts of every length
    questions, contexts = list(rows["question"]), list(rows["context"])
    if kwargs.pop("single", False):
        args = (contexts,)
    elif kwargs.pop("swap", False):
        args = (contexts, questions)
    else:
        args = (questions, contexts)
    rows = 0
    for start in range(0, len(questions), 500):
        part = tuple(a[start:start + 500] for a in args)
        a, b = ours(*part, **kwargs), hf(*part, **kwargs)
        assert _columns(a) == _columns(b)
        rows += len(a["input_ids"])
        assert all(a.sequence_ids(i) == b.sequence_ids(i) and a.word_ids(i) == b.word_ids(i)
                   for i in range(len(a["input_ids"])))
    assert rows > len(questions)  # some contexts did overflow


def test_windows_of_one_text_and_left_truncation(minilm_folder, hf, squad):
    ours = load_tokenizer(minilm_folder)
    ours.padding = ours.truncation = None
    context = max(squad["context"], key=len)
    kwargs = dict(truncation=True, max_length=60, stride=15, return_overflowing_tokens=True, return_tensors="pt",
                  padding=True)
    a, b = ours("A question?", context, **kwargs), hf("A question?", context, **kwargs)
    assert all(torch.equal(a[k], b[k]) for k in b) and set(a) == set(b) and a["input_ids"].shape[0] > 5
    from transformers import AutoTokenizer

    left = AutoTokenizer.from_pretrained(minilm_folder, truncation_side="left")
    expected = left(context, truncation=True, max_length=40, stride=7, return_overflowing_tokens=True)["input_ids"]
    rows = ours._windows(ours._encode_text(context), None, True, Truncation(40, "longest_first", "left"), stride=7)
    assert [e.ids for e in rows] == expected and len(expected) > 5


@pytest.mark.parametrize("call, message", [
    (lambda t: t("q", "a b c d e f g", truncation="only_second", max_length=6, stride=3,
                 return_overflowing_tokens=True), r"stride=3 must be smaller than the 2 tokens a window has"),
    (lambda t: t("q", stride=-1), r"stride=-1: give the number of tokens"),
    (lambda t: t("not split", is_split_into_words=True), r"must be a list of words"),
    (lambda t: t(["a", 3], is_split_into_words=True), r"word 1 of the text must be a string"),
    (lambda t: t("a").word_ids(1), r"batch_index=1, but this batch has 1 sequence"),
])
def test_bad_words_and_windows(minilm_unpadded, call, message):
    ours, _ = minilm_unpadded
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        call(ours)

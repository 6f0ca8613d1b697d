"""Chapter 10: translation. BLEU from scratch against sacreBLEU, the reference implementation."""

from __future__ import annotations

import random

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.bleu import corpus_bleu, segment_statistics, tokenize_13a
from course_lib.hub import load_hub_dataset


def reference(hypotheses, references, **options) -> float:
    return sacrebleu.corpus_bleu(hypotheses, references, **options).score


@pytest.fixture(scope="module")
def multi30k_test():
    return load_hub_dataset("bentrevett/multi30k", split="test", revision="refs/convert/parquet")


def test_13a_tokens_are_sacrebleus(multi30k_test):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    theirs = Tokenizer13a()
    lines = list(multi30k_test["en"]) + list(multi30k_test["de"]) + [
        'It costs $3.50, or 1,000 yen!', "A 2-year-old's toy (red).", "x&quot;y &amp; &lt;b&gt; <skipped>",
        "hyphen-\nated line\nbreak", "3.14.15 a.b,c 1,2,3 -5 end.", "", "   "]
    for line in lines:
        assert tokenize_13a(line) == theirs(line).split(), line


def test_multi30k_hypotheses_score_what_sacrebleu_scores(multi30k_test):
    refs = list(multi30k_test["en"])
    rng = random.Random(0)
    systems = [refs, list(multi30k_test["de"]), [" ".join(rng.sample(s.split(), len(s.split()))) for s in refs],
               [" ".join(s.split()[: len(s.split()) // 2]) for s in refs]]
    for hyps in systems:
        for options in ({}, {"lowercase": True}, {"tokenize": "none"}):
            assert corpus_bleu(hyps, refs, **options).score == pytest.approx(reference(hyps, [refs], **options),
                                                                             abs=1e-9)


WORDS = st.sampled_from(["a", "the", "man", "dog", "runs", "red", "ball", ".", ",", "3.5", "A", "Dog", "'s", "-"])
SENTENCE = st.lists(WORDS, max_size=12).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(SENTENCE, SENTENCE, SENTENCE), min_size=1, max_size=6), st.booleans())
def test_random_corpora_with_one_or_two_references(rows, lowercase):
    hyps, refs1, refs2 = (list(column) for column in zip(*rows))
    for streams in ([refs1], [refs1, refs2]):
        ours = corpus_bleu(hyps, streams, lowercase=lowercase)
        theirs = sacrebleu.corpus_bleu(hyps, streams, lowercase=lowercase)
        assert ours.score == pytest.approx(theirs.score, abs=1e-9)
        assert (ours.hypothesis_length, ours.reference_length) == (theirs.sys_len, theirs.ref_len)
        assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)


@pytest.mark.parametrize("hyps, refs", [
    ([""], ["A dog runs ."]),                                       # an empty hypothesis
    (["", ""], ["A dog .", "The man ."]),                           # nothing at all
    (["the cat sat on a mat today"], ["a dog ran in the park"]),    # unigrams only, no 4-gram matches
    (["a dog ran in the park today"], ["a dog ran in the park"]),   # one sentence, longer than its reference
    (["a dog"], ["a dog ran in the park"]),                         # too short to have 3- and 4-grams
    (["the cat is on the mat"] * 3, ["the cat is on the mat"] * 3),
])
def test_edge_cases_equal_sacrebleu(hyps, refs):
    assert corpus_bleu(hyps, refs).score == pytest.approx(reference(hyps, [refs]), abs=1e-9)


def test_clipping_and_the_closest_reference_length():
    stats = segment_statistics("the the the the the the the".split(), ["the cat is on the mat".split()])
    assert stats == [7, 6, 2, 0, 0, 0, 7, 6, 5, 4]
    # Of references of 3 and 5 tokens, a 4-token hypothesis is as close to both: the shorter one counts.
    assert segment_statistics("a b c d".split(), ["a b c d e".split(), "a b c".split()])[1] == 3


@pytest.mark.parametrize("call, error, message", [
    (lambda: corpus_bleu(["a b"], ["a b", "c d"]), ValueError, r"1 hypotheses but a reference list of 2"),
    (lambda: corpus_bleu("a b", ["a b"]), TypeError, r"hypotheses must be a list of strings"),
    (lambda: corpus_bleu([], []), ValueError, r"nothing to score"),
    (lambda: corpus_bleu(["a"], ["a"], tokenize="intl"), ValueError, r"tokenize='intl'; choose '13a'"),
    (lambda: corpus_bleu([None], ["a"]), TypeError, r"hypotheses must be a list of strings"),
])
def test_bad_input_says_what_to_do(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- the shipped translator (course_lib/models/multi30k-de-en, trained by tools/train_translator.py) -------------
@pytest.fixture(scope="module")
def shipped():
    from course_lib.encoder_decoder import MarianMTModel
    from course_lib.tokenizer import Tokenizer
    from course_lib.translation import MULTI30K_TRANSLATOR

    return MarianMTModel.from_pretrained(MULTI30K_TRANSLATOR), Tokenizer.from_pretrained(MULTI30K_TRANSLATOR)


def test_shipped_translator_scores_the_bleu_it_records(shipped, multi30k_test):
    """The BLEU training.json records (measured when it was trained) is what the shipped files score: greedy on
    all of test2016. Within 0.5: a CPU that rounds otherwise may pick another token where two are nearly tied."""
    import json

    from course_lib.translation import MULTI30K_TRANSLATOR, translate

    record = json.loads((MULTI30K_TRANSLATOR / "training.json").read_text())
    hypotheses = translate(*shipped, list(multi30k_test["de"]))
    assert corpus_bleu(hypotheses, list(multi30k_test["en"])).score == pytest.approx(
        record["test2016"]["greedy"]["sacrebleu"], abs=0.5)
    assert record["test2016"]["beam4"]["sacrebleu"] >= 35  # the goal the course set itself (issue 14)


def test_transformers_loads_the_shipped_translator(shipped, multi30k_test):
    import torch
    import transformers

    from course_lib.translation import MULTI30K_TRANSLATOR

    model, tokenizer = shipped
    theirs = transformers.MarianMTModel.from_pretrained(str(MULTI30K_TRANSLATOR), dtype=torch.float32).eval()
    their_tokenizer = transformers.AutoTokenizer.from_pretrained(str(MULTI30K_TRANSLATOR))
    sources = list(multi30k_test["de"][:32])
    batch = tokenizer(sources, padding=True, return_tensors="pt")
    batch = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    assert batch["input_ids"].tolist() == their_tokenizer(sources, padding=True)["input_ids"]
    target = batch["input_ids"][:, :12]
    with torch.no_grad():
        assert torch.allclose(model(batch["input_ids"], batch["attention_mask"], target).logits,
                              theirs(**batch, decoder_input_ids=target).logits, atol=1e-4)
    from course_lib.beam_search import generate

    for options in (dict(max_new_tokens=80, num_beams=1), dict(max_new_tokens=80, num_beams=4)):
        assert torch.equal(generate(model, batch["input_ids"], batch["attention_mask"], **options),
                           theirs.generate(**batch, **options))


def test_shipped_translator_is_small():
    from pathlib import Path

    from course_lib.translation import MULTI30K_TRANSLATOR

    size = sum(p.stat().st_size for p in Path(str(MULTI30K_TRANSLATOR)).iterdir())
    assert size < 20e6

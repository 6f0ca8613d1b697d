"""Chapter 11.1: label alignment, the token-classification collator, seqeval's entity metrics and the
token-classification pipeline, each compared with its reference (🤗 Transformers, seqeval), offline."""

from __future__ import annotations

import json
import math
import shutil
import warnings

import pytest
import torch
from huggingface_hub import snapshot_download
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.bert import BertForTokenClassification
from course_lib.config import AutoConfig
from course_lib.hub import load_hub_dataset
from course_lib.pipelines import TASKS, pipeline
from course_lib.token_classification import (
    AGGREGATION_STRATEGIES,
    CONLL2003_LABELS,
    DataCollatorForTokenClassification,
    TokenClassificationPipeline,
    accuracy_score,
    align_labels_with_tokens,
    classification_report,
    f1_score,
    get_entities,
    logits_to_tags,
    ner_metrics,
    precision_score,
    recall_score,
    tokenize_and_align_labels,
)
from course_lib.tokenizer_json import load_tokenizer
from course_lib.trainer import Trainer, TrainingArguments


MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
TEXTS = [
    "Hugging Face Inc. is a company based in New York City. Its headquarters are in DUMBO, therefore very close to "
    "the Manhattan Bridge.",
    "My name is Wolfgang and I live in Berlin, near the Brandenburger Tor.",
    "Zürich's naïve café ☃ Ğ unbelievably antidisestablishmentarianism",  # [UNK], accents, long words
    "EU rejects German call to boycott British lamb .",
    "a",
    "   spaces   around   ",
]


@pytest.fixture(scope="module")
def conll():
    return load_hub_dataset("eriktks/conll2003", "conll2003", revision="refs/convert/parquet")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(MINILM)


# --- labels and tokens ------------------------------------------------------------------------------------------------
def course_align(labels, word_ids):
    """The 🤗 course's align_labels_with_tokens (every token labelled, B- -> I- on later pieces; CoNLL ids)."""
    new, current = [], None
    for word_id in word_ids:
        if word_id != current:
            current = word_id
            new.append(-100 if word_id is None else labels[word_id])
        elif word_id is None:
            new.append(-100)
        else:
            label = labels[word_id]
            new.append(label + 1 if label % 2 == 1 else label)
    return new


def test_align_labels_first_token_only_and_every_token():
    assert align_labels_with_tokens([3, 0], [None, 0, 0, 1, None]) == [-100, 3, -100, 0, -100]
    assert align_labels_with_tokens([3, 0], [None, 0, 0, 1, None], label_all_tokens=True) == [-100, 3, 4, 0, -100]
    assert align_labels_with_tokens([4, 7], [None, 0, 0, 1, 1, 1, None], True) == [-100, 4, 4, 7, 8, 8, -100]
    assert align_labels_with_tokens([], [None, None]) == [-100, -100]


def test_the_map_function_agrees_with_the_transformers_tokenizer_and_the_course_rule(conll, tokenizer):
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(snapshot_download(MINILM))
    rows = conll["train"].select(range(400))
    batch = {"tokens": list(rows["tokens"]), "ner_tags": list(rows["ner_tags"])}
    ours = tokenize_and_align_labels(tokenizer)(batch)
    every = tokenize_and_align_labels(tokenizer, label_all_tokens=True)(batch)
    theirs = reference(batch["tokens"], is_split_into_words=True)
    for i, tags in enumerate(batch["ner_tags"]):
        word_ids = theirs.word_ids(i)
        assert ours["input_ids"][i] == theirs["input_ids"][i]
        first = [-100 if w is None or w == p else tags[w] for p, w in zip([None, *word_ids], word_ids)]
        assert ours["labels"][i] == first
        assert every["labels"][i] == course_align(tags, word_ids)
        assert len(ours["labels"][i]) == len(ours["input_ids"][i])


def test_truncation_keeps_labels_in_line(conll, tokenizer):
    rows = conll["train"].select(range(50))
    out = tokenize_and_align_labels(tokenizer, max_length=8)({"tokens": rows["tokens"], "ner_tags": rows["ner_tags"]})
    assert all(len(ids) <= 8 and len(ids) == len(labels) for ids, labels in zip(out["input_ids"], out["labels"]))


def test_labels_that_do_not_fit_the_words_are_refused(tokenizer):
    f = tokenize_and_align_labels(tokenizer)
    with pytest.raises(ValueError, match="has 2 words but 1 labels"):
        f({"tokens": [["EU", "rejects"]], "ner_tags": [[3]]})
    with pytest.raises(KeyError, match="no column 'ner_tags'"):
        f({"tokens": [["EU"]], "labels": [[3]]})
    with pytest.raises(ValueError, match="from word 1 but there are only 1 labels"):
        align_labels_with_tokens([3], [None, 0, 1, None])


# --- the collator ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("multiple", [None, 8])
def test_the_collator_gives_the_tensors_of_transformers(conll, tokenizer, multiple):
    from transformers import AutoTokenizer
    from transformers import DataCollatorForTokenClassification as Reference

    data = conll["validation"].select(range(40)).map(tokenize_and_align_labels(tokenizer), batched=True,
                                                      remove_columns=conll["validation"].column_names)
    ours = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=multiple)
    theirs = Reference(AutoTokenizer.from_pretrained(snapshot_download(MINILM)), pad_to_multiple_of=multiple)
    for start in range(0, 40, 13):
        rows = [data[i] for i in range(start, min(start + 13, 40))]
        a, b = ours(rows), theirs(rows)
        assert set(a) == set(b)
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
    without_labels = [{k: v for k, v in data[i].items() if k != "labels"} for i in range(3)]
    assert "labels" not in ours(without_labels)


def test_the_collator_refuses_labels_that_do_not_line_up(tokenizer):
    collator = DataCollatorForTokenClassification(tokenizer)
    with pytest.raises(ValueError, match="2 labels for 3 tokens"):
        collator([{"input_ids": [101, 7592, 102], "labels": [-100, 0]}])


# --- entity metrics against seqeval ------------------------------------------------------------------------------------
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
sequences = st.lists(st.sampled_from(TAGS), max_size=12)


def same_report(ours: dict, theirs: dict) -> bool:
    if list(ours) != list(theirs):
        return False
    for name, scores in ours.items():
        for key, value in scores.items():
            other = float(theirs[name][key])
            if not (math.isnan(value) and math.isnan(other)) and value != pytest.approx(other, abs=1e-12):
                return False
    return True


@settings(max_examples=400, deadline=None)
@given(sequences)
def test_entities_are_read_as_seqeval_reads_them(tags):
    from seqeval.metrics.sequence_labeling import get_entities as reference

    assert get_entities(tags) == reference(list(tags))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=6).flatmap(
    lambda lengths: st.tuples(*[st.tuples(st.lists(st.sampled_from(TAGS), min_size=n, max_size=n),
                                          st.lists(st.sampled_from(TAGS), min_size=n, max_size=n))
                                for n in lengths])))
def test_scores_are_those_of_seqeval(pairs):
    import seqeval.metrics as reference

    y_true, y_pred = [list(t) for t, _ in pairs], [list(p) for _, p in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on 0/0
        assert same_report(classification_report(y_true, y_pred),
                           reference.classification_report(y_true, y_pred, output_dict=True))
        assert f1_score(y_true, y_pred) == pytest.approx(reference.f1_score(y_true, y_pred), abs=1e-12)
        assert precision_score(y_true, y_pred) == pytest.approx(reference.precision_score(y_true, y_pred), abs=1e-12)
        assert recall_score(y_true, y_pred) == pytest.approx(reference.recall_score(y_true, y_pred), abs=1e-12)
        if sum(map(len, y_true)):
            assert accuracy_score(y_true, y_pred) == pytest.approx(reference.accuracy_score(y_true, y_pred))


def test_edge_cases_of_the_scores():
    nothing = [["O", "O"]]
    report = classification_report(nothing, nothing)
    assert report["micro avg"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
    assert math.isnan(report["macro avg"]["f1-score"])  # no type at all: the mean of nothing, as seqeval
    assert f1_score([["O", "B-PER"]], [["O", "O"]]) == 0.0  # nothing predicted: precision 0/0 counts as 0
    assert precision_score([["O", "O"]], [["B-PER", "O"]]) == 0.0
    assert f1_score([["I-PER", "I-PER"]], [["B-PER", "I-PER"]]) == 1.0  # an I- after O starts the same entity
    assert f1_score([["B-PER", "I-PER"]], [["B-PER", "B-PER"]]) == 0.0  # two entities are not one


def test_bad_tags_and_shapes_are_refused():
    with pytest.raises(ValueError, match="tag 'PER' at position 1 is not an IOB2 tag"):
        get_entities(["B-PER", "PER"])
    with pytest.raises(ValueError, match="tag 'E-PER'"):
        get_entities(["E-PER"])
    with pytest.raises(ValueError, match="sentence 0 has 2 true tags but 1 predicted"):
        f1_score([["B-PER", "O"]], [["B-PER"]])
    with pytest.raises(ValueError, match="2 true sequences but 1 predicted"):
        f1_score([["O"], ["O"]], [["O"]])
    with pytest.raises(TypeError, match="lists of tag sequences"):
        f1_score(["B-PER", "O"], ["B-PER", "O"])


def test_logits_become_one_tag_per_word():
    logits = torch.zeros(2, 5, 3)
    logits[0, 1, 1] = logits[1, 2, 2] = 5  # sentence 0: token 1 -> label 1; sentence 1: token 2 -> label 2
    labels = [[-100, 1, -100, 0, -100], [-100, 0, 2, -100]]
    true, pred = logits_to_tags(list(logits), labels, ["O", "B-PER", "I-PER"])
    assert true == [["B-PER", "O"], ["O", "I-PER"]] and pred == [["B-PER", "O"], ["O", "I-PER"]]
    assert ner_metrics(true, pred)["f1"] == 1.0 and ner_metrics(true, pred)["PER_f1"] == 1.0
    with pytest.raises(ValueError, match="2 predictions for 1 label sequences"):
        logits_to_tags(list(logits), labels[:1], ["O", "B-PER", "I-PER"])


# --- the pipeline against 🤗 Transformers' ------------------------------------------------------------------------------
def copy_tokenizer(folder):
    source = snapshot_download(MINILM)
    for name in TOKENIZER_FILES:
        shutil.copy(f"{source}/{name}", folder / name)


@pytest.fixture(scope="module")
def random_folder(tmp_path_factory):
    """A random-weight BertForTokenClassification saved by 🤗 Transformers, with MiniLM's tokenizer files beside it;
    the classifier is scaled up so that every label gets predicted somewhere."""
    from transformers import BertConfig
    from transformers import BertForTokenClassification as Reference

    folder = tmp_path_factory.mktemp("random-ner")
    torch.manual_seed(0)
    config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                        num_labels=9, id2label=dict(enumerate(CONLL2003_LABELS)),
                        label2id={name: i for i, name in enumerate(CONLL2003_LABELS)})
    model = Reference(config)
    with torch.no_grad():
        model.classifier.weight.mul_(30)
    model.save_pretrained(folder)
    copy_tokenizer(folder)
    return folder


def course_pipeline(folder, **kwargs):
    """Our pipeline on a folder. 🤗 Transformers 5 writes id2label but no num_labels into config.json, which
    course_lib's config does not yet derive (see test_a_transformers_folder_loads_with_its_number_of_labels)."""
    config = AutoConfig.from_pretrained(folder)
    config.num_labels = len(config.extra.get("id2label") or {}) or config.num_labels
    model = BertForTokenClassification.from_pretrained(folder, config=config)
    return pipeline("ner", model=model, tokenizer=load_tokenizer(folder), **kwargs)


def assert_same_answers(ours, theirs, tolerance=1e-5):
    assert len(ours) == len(theirs), (ours, theirs)
    for a, b in zip(ours, theirs):
        assert set(a) == set(b), (a, b)
        assert {k: v for k, v in a.items() if k != "score"} == {k: v for k, v in b.items() if k != "score"}, (a, b)
        assert abs(a["score"] - float(b["score"])) <= tolerance, (a, b)


def compare_with_transformers(folder, texts):
    from transformers import pipeline as reference_pipeline

    reference = reference_pipeline("token-classification", model=str(folder))
    ours = course_pipeline(folder)
    found = {}
    for strategy in AGGREGATION_STRATEGIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = [reference(t, aggregation_strategy=strategy) for t in texts]
        mine = ours(texts, aggregation_strategy=strategy)
        for a, b in zip(mine, theirs):
            assert_same_answers(a, b)
        found[strategy] = sum(map(len, mine))
    return found


def test_pipeline_answers_as_transformers_on_a_random_model(random_folder):
    found = compare_with_transformers(random_folder, TEXTS)
    assert all(n > 10 for n in found.values()), found  # the comparison saw entities, not empty lists


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, conll, tokenizer):
    """MiniLM trained for 40 steps on CoNLL-2003 with course_lib, saved by course_lib."""
    folder = tmp_path_factory.mktemp("trained-ner")
    config = AutoConfig.from_pretrained(MINILM)
    config.num_labels = 9
    config.extra["id2label"] = {str(i): name for i, name in enumerate(CONLL2003_LABELS)}
    config.extra["label2id"] = {name: i for i, name in enumerate(CONLL2003_LABELS)}
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new classifier layer
        model = BertForTokenClassification.from_pretrained(MINILM, config=config)
    data = conll["train"].select(range(640)).map(tokenize_and_align_labels(tokenizer), batched=True,
                                                  remove_columns=conll["train"].column_names)
    args = TrainingArguments(str(folder / "run"), max_steps=40, per_device_train_batch_size=16, learning_rate=3e-4,
                             eval_strategy="no", disable_tqdm=True, logging_steps=20)
    Trainer(model, args, train_dataset=data, data_collator=DataCollatorForTokenClassification(tokenizer)).train()
    model.save_pretrained(folder / "final")
    tokenizer.save_pretrained(folder / "final")
    return folder / "final"


def test_transformers_loads_what_course_lib_saves_with_the_same_logits(trained_folder, tokenizer):
    from transformers import AutoModelForTokenClassification

    theirs = AutoModelForTokenClassification.from_pretrained(trained_folder).eval()
    assert theirs.config.id2label[1] == "B-PER" and theirs.config.num_labels == 9
    ours = BertForTokenClassification.from_pretrained(trained_folder).eval()
    batch = tokenizer(TEXTS[:4], padding=True, return_tensors="pt")
    with torch.no_grad():
        a, b = ours(**batch).logits, theirs(**batch).logits
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()


def test_pipeline_answers_as_transformers_on_a_trained_course_model(trained_folder, conll):
    sentences = [" ".join(words) for words in conll["validation"]["tokens"][:40]]
    found = compare_with_transformers(trained_folder, TEXTS + sentences)
    assert found["simple"] > 20, found


# --- the pipeline's own behaviour --------------------------------------------------------------------------------------
def test_both_task_names_are_registered(random_folder):
    assert TASKS["ner"][0] is TokenClassificationPipeline
    assert TASKS["token-classification"][0] is TokenClassificationPipeline


def test_answers_do_not_depend_on_the_batching(random_folder):
    ner = course_pipeline(random_folder, aggregation_strategy="simple")
    one_by_one = [ner(t) for t in TEXTS]
    for batched in (ner(TEXTS, batch_size=2), list(reversed(ner(list(reversed(TEXTS)), batch_size=4)))):
        for a, b in zip(batched, one_by_one):
            assert_same_answers(a, b, tolerance=1e-5)


def test_ignore_labels_and_offsets_point_into_the_text(random_folder):
    ner = course_pipeline(random_folder)
    text = TEXTS[0]
    everything = ner(text, ignore_labels=[])
    assert len(everything) == len(ner.tokenizer.tokenize(text))
    assert all(0 <= a["start"] < a["end"] <= len(text) for a in everything)
    assert all(a["entity"] != "O" for a in ner(text))


def test_a_long_text_is_truncated_with_a_warning(random_folder):
    ner = course_pipeline(random_folder, aggregation_strategy="simple")
    long_text = "Berlin is big. " * 300
    with pytest.warns(UserWarning, match="longer than the model's 512 tokens and was truncated"):
        answer = ner(long_text)
    assert all(a["end"] <= len(long_text) for a in answer)


def test_bad_calls_get_clear_errors(random_folder):
    ner = course_pipeline(random_folder)
    with pytest.raises(ValueError, match="aggregation_strategy='longest'; use one of"):
        ner("Berlin", aggregation_strategy="longest")
    with pytest.raises(ValueError, match="aggregation_strategy="):
        course_pipeline(random_folder, aggregation_strategy=None)
    with pytest.raises(TypeError, match="takes a string or a list of strings"):
        ner(42)
    with pytest.raises(ValueError, match="the list of texts is empty"):
        ner([])
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        ner("Berlin", batch_size=0)


def test_a_transformers_folder_loads_with_its_number_of_labels(random_folder):
    """🤗 Transformers 5 saves id2label without num_labels; `pipeline("ner", model=folder)` needs course_lib's config
    to count the labels, as 🤗's does."""
    assert "num_labels" not in json.loads((random_folder / "config.json").read_text())
    ner = pipeline("ner", model=random_folder)
    assert ner.model.config.num_labels == 9

"""Chapter 11.2: the span model, SQuAD windows, post-processing, exact match / F1 and the question-answering pipeline,
each against its reference (🤗 Transformers, its fast tokenizer, its old pipeline's algorithm, torchmetrics)."""

import random
import warnings

import numpy as np
import pytest
import torch

from course_lib.hub import load_hub_dataset
from course_lib.modeling import AutoModelForQuestionAnswering
from course_lib.pipelines import pipeline
from course_lib.question_answering import (
    BertForQuestionAnswering,
    QuestionAnsweringPipeline,
    collate_windows,
    exact_match_score,
    f1_score,
    normalize_answer,
    postprocess_predictions,
    predict_logits,
    preprocess_training_examples,
    preprocess_validation_examples,
    squad_metrics,
)
from course_lib.tokenizer_json import load_tokenizer
from course_lib.training import native_bf16


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def squad_long():
    """SQuAD questions on the longest paragraphs (several windows each), and a few short ones."""
    squad = load_hub_dataset("rajpurkar/squad", "plain_text", split="validation")
    lengths = np.array([len(c) for c in squad["context"]])
    order = np.argsort(lengths)
    return squad.select(order[-24:].tolist() + order[:4].tolist() + list(range(0, 4000, 500)))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A random-weight 🤗 BertForQuestionAnswering (2 layers) saved with MiniLM's tokenizer files."""
    from transformers import BertConfig as ReferenceConfig
    from transformers import BertForQuestionAnswering as Reference

    folder = tmp_path_factory.mktemp("qa")
    torch.manual_seed(0)
    config = ReferenceConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                             intermediate_size=96, max_position_embeddings=512)
    reference = Reference(config).eval()
    with torch.no_grad():  # spread the logits, so that spans are ranked without near-ties
        reference.qa_outputs.weight.mul_(30)
    reference.save_pretrained(folder)
    load_tokenizer(MINILM).save_pretrained(folder)
    return folder


def reference_model(folder):
    from transformers import BertForQuestionAnswering as Reference

    return Reference.from_pretrained(folder).eval()


def reference_tokenizer(folder):
    """MiniLM's own tokenizer files, which transformers reads as a BertTokenizerFast (the folder has the same)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MINILM)


# --- the model ------------------------------------------------------------------------------------------------------
def batch_of(folder, n=3, length=40):
    torch.manual_seed(1)
    ids = torch.randint(1000, 30000, (n, length))
    mask = torch.ones_like(ids)
    mask[1, 25:] = 0  # a padded row
    types = torch.zeros_like(ids)
    types[:, 12:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_a_transformers_checkpoint_loads_with_nothing_missing_and_equal_logits(folder):
    ours = BertForQuestionAnswering.from_pretrained(folder)
    assert ours.loading_report.missing == [] and ours.loading_report.unexpected == []
    assert isinstance(AutoModelForQuestionAnswering.from_pretrained(folder), BertForQuestionAnswering)
    batch = batch_of(folder)
    with torch.no_grad():
        a, b = ours(**batch), reference_model(folder)(**batch)
    real = batch["attention_mask"].bool()
    assert torch.allclose(a.start_logits[real], b.start_logits[real], atol=1e-5, rtol=0)
    assert torch.allclose(a.end_logits[real], b.end_logits[real], atol=1e-5, rtol=0)


def test_what_we_save_transformers_loads_with_the_same_logits(folder, tmp_path):
    from transformers import BertForQuestionAnswering as Reference

    torch.manual_seed(2)
    ours = BertForQuestionAnswering(BertForQuestionAnswering.from_pretrained(folder).config).eval()
    ours.save_pretrained(tmp_path)
    theirs, info = Reference.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    batch = batch_of(folder)
    with torch.no_grad():
        a, b = ours(**batch), theirs.eval()(**batch)
    assert torch.allclose(a.start_logits, b.start_logits, atol=1e-5, rtol=0)
    assert torch.allclose(a.end_logits, b.end_logits, atol=1e-5, rtol=0)


def test_the_loss_is_transformers_loss_with_positions_past_the_window_ignored(folder):
    ours, theirs = BertForQuestionAnswering.from_pretrained(folder), reference_model(folder)
    batch = batch_of(folder)
    for starts, ends in (([3, 0, 39], [5, 0, 39]), ([3, 40, 70], [5, 45, 2]), ([50, 60, 70], [50, 60, 70])):
        labels = {"start_positions": torch.tensor(starts), "end_positions": torch.tensor(ends)}
        with torch.no_grad():
            a, b = ours(**batch, **labels).loss, theirs(**batch, **labels).loss
        assert torch.allclose(a, b, atol=1e-5, equal_nan=True), (starts, ends, a, b)  # all ignored: both nan


# --- windows and labels ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_length,stride", [(384, 128), (128, 32)])
def test_training_windows_and_labels_equal_those_made_with_the_fast_tokenizer(folder, squad_long, max_length, stride):
    rows = squad_long[:]
    ours = preprocess_training_examples(rows, load_tokenizer(folder), max_length, stride)
    theirs = preprocess_training_examples(rows, reference_tokenizer(folder), max_length, stride)
    assert set(ours) == set(theirs) == {"input_ids", "token_type_ids", "attention_mask", "start_positions",
                                        "end_positions"}
    for key in ours:
        assert [list(x) if isinstance(x, list) else x for x in ours[key]] == \
            [list(x) if isinstance(x, list) else x for x in theirs[key]], key
    assert len(ours["input_ids"]) > len(rows)  # long contexts: several windows
    assert all(len(ids) == max_length for ids in ours["input_ids"])


def test_labels_point_at_the_answer_or_at_cls(folder, squad_long):
    tok = load_tokenizer(folder)
    rows = squad_long[:]
    train = preprocess_training_examples(rows, tok, 128, 32)
    windows = tok([q.strip() for q in rows["question"]], rows["context"], truncation="only_second", max_length=128,
                  stride=32, return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")
    found = set()
    for i, (s, e) in enumerate(zip(train["start_positions"], train["end_positions"])):
        j = windows["overflow_to_sample_mapping"][i]
        answer = rows["answers"][j]["text"][0]
        if s == 0:
            assert e == 0
            continue
        offsets = windows["offset_mapping"][i]
        assert answer in rows["context"][j][offsets[s][0]:offsets[e][1]]
        found.add(j)
    assert len(found) == len(rows["id"])  # every answer is whole in some window


def test_validation_windows_keep_ids_and_context_offsets_only(folder, squad_long):
    rows = squad_long[:]
    ours = preprocess_validation_examples(rows, load_tokenizer(folder), 128, 32)
    theirs = preprocess_validation_examples(rows, reference_tokenizer(folder), 128, 32)
    assert ours["example_id"] == theirs["example_id"] and ours["input_ids"] == [list(x) for x in theirs["input_ids"]]
    assert ours["offset_mapping"] == theirs["offset_mapping"]
    for ids, offsets in zip(ours["input_ids"], ours["offset_mapping"]):
        assert offsets[0] is None and offsets[ids.index(102)] is None  # [CLS], the question's [SEP]


# --- post-processing ------------------------------------------------------------------------------------------------
def brute_force_best(context, offsets_rows, starts, ends, max_answer_length):
    best, text = float("-inf"), ""
    for offsets, s_row, e_row in zip(offsets_rows, starts, ends):
        for s in range(len(offsets)):
            for e in range(s, min(len(offsets), s + max_answer_length)):
                if offsets[s] is not None and offsets[e] is not None and s_row[s] + e_row[e] > best:
                    best, text = s_row[s] + e_row[e], context[offsets[s][0]:offsets[e][1]]
    return text


def test_postprocessing_finds_the_best_valid_span_over_all_windows(folder, squad_long):
    rows = squad_long[:]
    features = preprocess_validation_examples(rows, load_tokenizer(folder), 128, 32)
    torch.manual_seed(3)
    n = len(features["input_ids"])
    start_logits, end_logits = torch.randn(n, 128) * 3, torch.randn(n, 128) * 3
    # n_best_size as large as the window: the n-best search then sees every pair, like the brute force
    predicted = postprocess_predictions(rows, features, start_logits, end_logits, n_best_size=128, max_answer_length=10)
    assert [p["id"] for p in predicted] == rows["id"]
    for k, (example_id, context) in enumerate(zip(rows["id"], rows["context"])):
        mine = [i for i, x in enumerate(features["example_id"]) if x == example_id]
        expected = brute_force_best(context, [features["offset_mapping"][i] for i in mine],
                                    start_logits[mine].tolist(), end_logits[mine].tolist(), 10)
        assert predicted[k]["prediction_text"] == expected


def test_a_perfect_model_scores_100(folder, squad_long):
    rows = squad_long[:]
    tok = load_tokenizer(folder)
    features = preprocess_validation_examples(rows, tok, 128, 32)
    labels = preprocess_training_examples(rows, tok, 128, 32)
    n = len(features["input_ids"])
    start_logits, end_logits = torch.zeros(n, 128), torch.zeros(n, 128)
    for i, (s, e) in enumerate(zip(labels["start_positions"], labels["end_positions"])):
        if s:
            start_logits[i, s], end_logits[i, e] = 20, 20
    predicted = postprocess_predictions(rows, features, start_logits, end_logits)
    references = [{"id": i, "answers": a} for i, a in zip(rows["id"], rows["answers"])]
    assert squad_metrics(predicted, references) == {"exact_match": 100.0, "f1": 100.0}


def test_predict_logits_and_the_collator(folder, squad_long):
    rows = squad_long[:8]
    features = preprocess_validation_examples(rows, load_tokenizer(folder), 128, 32)
    model = BertForQuestionAnswering.from_pretrained(folder)
    starts, ends = predict_logits(model, features, batch_size=3)
    assert starts.shape == (len(features["input_ids"]), 128)
    i = 2
    batch = collate_windows([{k: features[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")}])
    with torch.no_grad():
        one = model(**batch)
    width = batch["input_ids"].shape[1]
    tolerance = 0.1 if native_bf16() else 1e-4  # predict_logits runs in bfloat16 where the CPU has it
    assert torch.allclose(starts[i, :width], one.start_logits[0], atol=tolerance)
    assert torch.isinf(starts[i, width:]).all()
    with pytest.raises(ValueError, match="empty"):
        collate_windows([])


# --- exact match and F1 ---------------------------------------------------------------------------------------------
EDGE_CASES = [("", ["Denver Broncos"]), ("...", ["..."]), ("the a an", ["an"]), ("Broncos", ["Panthers", "the Broncos"]),
              ("Denver Broncos Denver", ["Denver Broncos"]), ("  DENVER,   broncos!", ["denver broncos"]),
              ("the the", ["the"]), ("Élan vital", ["élan  VITAL."]), ("a", [""]), ("", [""])]


def reference_scores(predictions, references):
    from torchmetrics.functional.text import squad

    return {k: v.item() for k, v in squad(predictions, references).items()}


def as_squad(cases):
    predictions = [{"id": str(i), "prediction_text": p} for i, (p, _) in enumerate(cases)]
    references = [{"id": str(i), "answers": {"text": g, "answer_start": [0] * len(g)}} for i, (_, g) in enumerate(cases)]
    return predictions, references


def both_empty(case):
    """A prediction and a gold answer that both normalise to "": the one place torchmetrics departs from v1.1."""
    prediction, golds = case
    return normalize_answer(prediction) == "" and any(normalize_answer(g) == "" for g in golds)


@pytest.mark.parametrize("case", [c for c in EDGE_CASES if not both_empty(c)])
def test_metrics_equal_the_official_script_on_edge_cases(case):
    ours, theirs = squad_metrics(*as_squad([case])), reference_scores(*as_squad([case]))
    assert ours == pytest.approx(theirs, abs=1e-4), case


@pytest.mark.parametrize("case", [c for c in EDGE_CASES if both_empty(c)])
def test_nothing_against_nothing_follows_the_v1_1_script_not_torchmetrics(case):
    # The official v1.1 script: no shared words, F1 0 (exact match 1). torchmetrics takes the SQuAD 2.0 script's
    # rule (F1 1 when both are empty), which v1.1 does not have.
    assert squad_metrics(*as_squad([case])) == {"exact_match": 100.0, "f1": 0.0}
    assert reference_scores(*as_squad([case])) == pytest.approx({"exact_match": 100.0, "f1": 100.0})


def test_metrics_equal_the_official_script_on_random_answers():
    rng = random.Random(0)
    words = ["the", "a", "an", "Denver", "broncos", "Broncos!", "1990", "(UK)", "an-other", "élan", "THE", ",", "of"]
    cases = []
    while len(cases) < 300:
        def text():
            return " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        case = (text(), [text() for _ in range(rng.randint(1, 3))])
        if not both_empty(case):
            cases.append(case)
    ours, theirs = squad_metrics(*as_squad(cases)), reference_scores(*as_squad(cases))
    assert ours == pytest.approx(theirs, abs=1e-4)
    assert 0 < ours["f1"] < 100


def test_metric_pieces_and_their_errors():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert exact_match_score("the Denver Broncos", "Denver Broncos") == 1.0
    assert f1_score("Denver Broncos", "the Broncos") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no reference"):
        squad_metrics([{"id": "x", "prediction_text": "a"}], [{"id": "y", "answers": {"text": ["a"]}}])
    with pytest.raises(ValueError, match="no predictions"):
        squad_metrics([], [])


# --- the pipeline ---------------------------------------------------------------------------------------------------
def reference_answers(folder, question, context, top_k=1, max_answer_len=15, doc_stride=128, max_seq_len=384,
                      handle_impossible_answer=False):
    """🤗 Transformers' old question-answering pipeline, step by step: its fast tokenizer, its model run on each
    window, and its span selection (`select_starts_ends`, still shipped in the document-QA pipeline)."""
    from transformers.pipelines.document_question_answering import select_starts_ends

    tok, model = reference_tokenizer(folder), reference_model(folder)
    enc = tok(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
              return_overflowing_tokens=True, return_offsets_mapping=True)
    answers, min_null = [], 1e6
    for i, ids in enumerate(enc["input_ids"]):
        p_mask = np.array([s != 1 for s in enc.sequence_ids(i)])
        p_mask[np.array(ids) == tok.cls_token_id] = False
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([enc["token_type_ids"][i]]),
                        attention_mask=torch.tensor([enc["attention_mask"][i]]))
        starts, ends, scores, min_null = select_starts_ends(
            out.start_logits.numpy(), out.end_logits.numpy(), p_mask, np.array([enc["attention_mask"][i]]),
            min_null, top_k, handle_impossible_answer, max_answer_len)
        encoding = enc.encodings[i]
        for s, e, score in zip(starts, ends, scores):
            a = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=1)[0]
            b = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=1)[1]
            answers.append({"score": float(score), "start": a, "end": b, "answer": context[a:b]})
    if handle_impossible_answer:
        answers.append({"score": min_null, "start": 0, "end": 0, "answer": ""})
    return sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]


def same_answers(ours, theirs):
    ours = ours if isinstance(ours, list) else [ours]
    assert [(a["start"], a["end"], a["answer"]) for a in ours] == [(a["start"], a["end"], a["answer"]) for a in theirs]
    assert [a["score"] for a in ours] == pytest.approx([a["score"] for a in theirs], rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("settings", [{}, {"top_k": 3, "max_seq_len": 128, "doc_stride": 32},
                                      {"top_k": 2, "max_answer_len": 4, "handle_impossible_answer": True,
                                       "max_seq_len": 96, "doc_stride": 16}])
def test_pipeline_answers_equal_the_old_transformers_pipeline_algorithm(folder, squad_long, settings):
    answerer = pipeline("question-answering", model=folder)
    assert isinstance(answerer, QuestionAnsweringPipeline)
    for row in list(squad_long)[::4]:
        ours = answerer(question=row["question"], context=row["context"], **settings)
        same_answers(ours, reference_answers(folder, row["question"].lstrip(), row["context"], **settings))


def test_pipeline_input_forms(folder, squad_long):
    answerer = pipeline("question-answering", model=folder)
    rows = list(squad_long)[:3]
    one = answerer(question=rows[0]["question"], context=rows[0]["context"])
    assert set(one) == {"score", "start", "end", "answer"} and one["answer"] == rows[0]["context"][one["start"]:one["end"]]
    assert answerer({"question": rows[0]["question"], "context": rows[0]["context"]}) == one
    many = answerer(question=[r["question"] for r in rows], context=[r["context"] for r in rows])
    assert many[0] == one and len(many) == 3
    assert answerer([{"question": r["question"], "context": r["context"]} for r in rows]) == many
    shared = answerer(question=[rows[0]["question"]] * 2, context=rows[0]["context"])
    assert shared == [one, one]
    several = answerer(question=rows[0]["question"], context=rows[0]["context"], top_k=3)
    assert isinstance(several, list) and len(several) == 3 and several[0] == one


def test_a_very_long_context_is_read_in_windows_without_limit(folder, squad_long):
    answerer = pipeline("question-answering", model=folder)
    row = squad_long[0]
    context = " ".join([row["context"]] * 12)  # about 12 x 4,000 characters
    settings = {"top_k": 2, "max_seq_len": 128, "doc_stride": 32}
    ours = answerer(question=row["question"], context=context, **settings)
    same_answers(ours, reference_answers(folder, row["question"], context, **settings))


@pytest.mark.parametrize("kwargs,error,message", [
    ({"question": "", "context": "Paris is in France."}, ValueError, "question 0 is empty"),
    ({"question": "Where?", "context": "   "}, ValueError, "context 0 is empty"),
    ({"question": "Where?", "context": "Paris.", "top_k": 0}, ValueError, "top_k must be a whole number >= 1, got 0"),
    ({"question": "Where?", "context": "Paris.", "max_answer_len": 0}, ValueError, "max_answer_len must be"),
    ({"question": ["a?", "b?"], "context": ["x", "y", "z"]}, ValueError, "2 questions and 3 contexts"),
    ({"question": "Where?", "context": "Paris.", "doc_stride": 400}, ValueError, "doc_stride=400"),
    ({"question": "Where? " * 60, "context": "Paris.", "max_seq_len": 64, "doc_stride": 16}, ValueError,
     "the question has 120 tokens"),
    ({"question": "Where?"}, TypeError, "give both"),
    ({"question": 3, "context": "Paris."}, TypeError, "question must be a string or a list of strings, got int"),
    ({"question": ["a?", None], "context": "Paris."}, TypeError, "question 1 must be a string"),
    ({"question": [], "context": []}, ValueError, "no questions"),
])
def test_bad_input_gets_a_clear_error(folder, kwargs, error, message):
    answerer = pipeline("question-answering", model=folder)
    with pytest.raises(error, match=message):
        answerer(**kwargs)


def test_bad_positional_input(folder):
    answerer = pipeline("question-answering", model=folder)
    with pytest.raises(TypeError, match="dicts with 'question' and 'context'"):
        answerer("just a string")
    with pytest.raises(TypeError, match="give question= and context=, or one dict"):
        answerer({"question": "a", "context": "b"}, question="a")


def test_minilm_loads_as_a_span_model_with_a_new_head():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BertForQuestionAnswering.from_pretrained(MINILM)
    assert model.loading_report.missing == ["qa_outputs.weight", "qa_outputs.bias"]
    assert model.loading_report.unexpected == []
    assert any("newly initialised" in str(w.message) for w in caught)

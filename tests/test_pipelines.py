"""Chapters 1 and 5: pipelines on MiniLM, every task and every bad input, offline."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import torch.nn.functional as F
from huggingface_hub import snapshot_download

from course_lib.bert import BertForSequenceClassification
from course_lib.config import BertConfig
from course_lib.hub import load_hub_dataset
from course_lib.pipelines import TASKS, Pipeline, pipeline, register_task
from course_lib.tokenizer_json import load_tokenizer


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def sentences():
    return list(load_hub_dataset("nyu-mll/glue", "sst2", split="validation")["sentence"][:200])


@pytest.fixture(scope="module")
def extractor():
    return pipeline("feature-extraction")


def reference_embeddings(texts):
    from transformers import AutoModel, AutoTokenizer

    folder = snapshot_download(MINILM)
    model, tok = AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 32):
            batch = tok(texts[i:i + 32], padding=True, truncation=True, return_tensors="pt")
            mask = batch["attention_mask"][..., None].float()
            out.append(F.normalize((model(**batch).last_hidden_state * mask).sum(1) / mask.sum(1), dim=-1))
    return torch.cat(out)


def test_feature_extraction_matches_the_reference_sentence_embeddings(extractor, sentences):
    ours = extractor.embed(sentences)
    assert ours.shape == (200, 384)
    assert (ours * reference_embeddings(sentences)).sum(-1).min() >= 0.99999


def test_answers_come_back_in_the_callers_order_whatever_the_batching(extractor, sentences):
    texts = sentences[:37]
    one_by_one = torch.stack([extractor(t) for t in texts])
    assert torch.allclose(torch.stack(extractor(texts, batch_size=8)), one_by_one, atol=1e-5)
    assert torch.allclose(torch.stack(extractor(list(reversed(texts)))), one_by_one.flip(0), atol=1e-5)


def test_sentence_similarity_and_semantic_search(sentences):
    sim = pipeline("sentence-similarity")
    scores = sim("A man is playing a guitar.", ["Someone plays an instrument.", "The stock market fell."])
    assert scores[0] > 0.5 > scores[1]
    hits = sim.search("a funny and touching film", sentences, top_k=3)
    assert [h["corpus_id"] for h in hits] == sorted(range(len(sentences)), key=lambda i: -(
        sim.embed([sentences[i]])[0] @ sim.embed(["a funny and touching film"])[0]).item())[:3]
    corpus = sim.embed(sentences)
    assert [h["corpus_id"] for h in sim.search("a funny and touching film", corpus, top_k=3, texts=sentences)] == \
        [h["corpus_id"] for h in hits]
    with pytest.raises(TypeError, match="give the sentences"):
        sim("only one")


def test_zero_shot_classification():
    zs = pipeline("zero-shot-classification")
    out = zs("The team won the championship after a dramatic final.", candidate_labels=["politics", "sports", "cooking"])
    assert out["labels"][0] == "sports" and abs(sum(out["scores"]) - 1) < 1e-5
    assert out["scores"] == sorted(out["scores"], reverse=True)
    batch = zs(["Add two cups of flour.", "Parliament passed the bill."], candidate_labels=["politics", "cooking"])
    assert [b["labels"][0] for b in batch] == ["cooking", "politics"]
    with pytest.raises(ValueError, match="candidate_labels"):
        zs("text")
    with pytest.raises(ValueError, match=r"needs a \{\}"):
        zs("text", candidate_labels=["a"], hypothesis_template="no slot")
    with pytest.raises(ValueError, match="temperature=0"):
        zs("text", candidate_labels=["a"], temperature=0)


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    """MiniLM with a sentiment head trained for a few seconds on frozen features, saved with id2label."""
    folder = tmp_path_factory.mktemp("sentiment")
    torch.manual_seed(0)  # the head's initial weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BertForSequenceClassification.from_pretrained(MINILM)
    tok = load_tokenizer(MINILM)
    train = load_hub_dataset("nyu-mll/glue", "sst2", split="train").shuffle(seed=0).select(range(600))
    with torch.no_grad():
        features = torch.cat([model.bert(**tok(list(train["sentence"][i:i + 100]), padding=True, return_tensors="pt")).pooler_output
                              for i in range(0, 600, 100)])
    labels = torch.tensor(train["label"])
    optimizer = torch.optim.AdamW(model.classifier.parameters(), lr=1e-2)
    for _ in range(200):
        loss = F.cross_entropy(model.classifier(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.config.extra["id2label"] = {"0": "NEGATIVE", "1": "POSITIVE"}
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_text_classification_gives_labels_and_probabilities(classifier_folder):
    clf = pipeline("text-classification", model=classifier_folder)
    good, bad = clf(["a warm, funny, wonderful film", "a dull, boring and awful mess"])
    assert good["label"] == "POSITIVE" and bad["label"] == "NEGATIVE" and 0.5 < good["score"] <= 1
    both = clf("a warm, funny, wonderful film", top_k=None)
    assert [b["label"] for b in both] == ["POSITIVE", "NEGATIVE"] and abs(sum(b["score"] for b in both) - 1) < 1e-5
    assert json.loads((classifier_folder / "config.json").read_text())["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}


def test_text_classification_matches_transformers_on_the_same_folder(classifier_folder):
    from transformers import pipeline as reference_pipeline

    texts = ["a warm, funny, wonderful film", "a dull, boring and awful mess", "it is a film"]
    theirs = reference_pipeline("text-classification", model=str(classifier_folder), device="cpu")(texts)
    ours = pipeline("text-classification", model=classifier_folder)(texts)
    for a, b in zip(ours, theirs):
        assert a["label"] == b["label"] and abs(a["score"] - b["score"]) < 1e-5


def test_fill_mask_matches_transformers(tmp_path):
    from transformers import BertConfig as ReferenceConfig
    from transformers import BertForMaskedLM as ReferenceMLM
    from transformers import pipeline as reference_pipeline

    torch.manual_seed(0)
    ReferenceMLM(ReferenceConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=128)).save_pretrained(tmp_path)
    load_tokenizer(MINILM).save_pretrained(tmp_path)
    text = "Paris is the [MASK] of France."
    ours = pipeline("fill-mask", model=tmp_path)(text)
    theirs = reference_pipeline("fill-mask", model=str(tmp_path), device="cpu")(text)
    assert [a["token"] for a in ours] == [b["token"] for b in theirs]
    assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(ours, theirs))
    assert ours[0]["sequence"] == theirs[0]["sequence"]
    with pytest.raises(ValueError, match=r"exactly one \[MASK\]"):
        pipeline("fill-mask", model=tmp_path)("no mask here")


# --- bad input -------------------------------------------------------------------------------------------------------

def test_bad_inputs(extractor):
    with pytest.raises(ValueError, match="empty"):
        extractor([])
    assert extractor("").shape == (384,) and torch.isfinite(extractor("")).all()  # [CLS] [SEP]: a defined result
    with pytest.raises(TypeError, match="a string or a list of strings"):
        extractor(42)
    with pytest.raises(TypeError, match="a string or a list of strings"):
        extractor(["ok", None])
    with pytest.warns(UserWarning, match=r"longer than the model's 512 tokens and were truncated"):
        long = extractor("word " * 2000)
    assert long.shape == (384,)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8", True])
def test_a_batch_size_that_is_not_a_positive_whole_number_is_refused(extractor, batch_size):
    with pytest.raises(ValueError, match=rf"batch_size must be a positive whole number \(texts per batch\), got {batch_size!r}"):
        extractor(["a", "b"], batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive whole number"):
        pipeline("feature-extraction", batch_size=batch_size)


def test_a_model_that_is_neither_a_folder_nor_a_hub_id_says_so():
    with pytest.raises(FileNotFoundError, match=r"'/no/such/dir' is neither a folder on this machine nor a Hub "
                                                r"repository id \('owner/name'\)"):
        pipeline("feature-extraction", model="/no/such/dir")
    with pytest.raises(FileNotFoundError, match=r"no-such/model \(model\) is not a folder on this machine, nor in "
                                                r"the Hub cache"):
        pipeline("feature-extraction", model="no-such/model")


def test_unknown_tasks_and_mismatched_vocabularies(tmp_path):
    with pytest.raises(ValueError, match=r"unknown task 'image-classification'; course_lib knows feature-extraction, "
                                         r"fill-mask"):
        pipeline("image-classification")
    with pytest.raises(ValueError, match="has no default model"):
        pipeline("text-classification")
    small = BertForSequenceClassification(BertConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=64))
    with pytest.raises(ValueError, match=r"tokenizer has 30,522 tokens but the model's vocabulary has 1,000"):
        pipeline("text-classification", model=small, tokenizer=load_tokenizer(MINILM))
    with pytest.raises(ValueError, match="needs its tokenizer"):
        pipeline("text-classification", model=small)


def test_adding_a_task_is_one_class_and_one_call():
    class LengthPipeline(Pipeline):
        def postprocess(self, outputs, batch, **kwargs):
            return batch["attention_mask"].sum(-1).tolist()

    register_task("token-count", LengthPipeline, MINILM)
    try:
        assert pipeline("token-count")(["hello world", "a"]) == [4, 3]
    finally:
        del TASKS["token-count"]

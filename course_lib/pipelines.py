import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from huggingface_hub import snapshot_download

from course_lib.bert import mean_pooling
from course_lib.modeling import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
from course_lib.tokenizer import Tokenizer
from course_lib.tokenizer_json import load_tokenizer


class Pipeline:
    """Text in, answers out, in three steps: `preprocess` (tokenize), `_forward` (the model), `postprocess` (answers).

    `__call__` takes one text or a list, sorts the texts by length so that each batch wastes little padding, runs the
    batches, and returns the answers in the caller's order. A task is a subclass that overrides the three steps.
    """

    model_class = AutoModel

    def __init__(self, model, tokenizer: Tokenizer, device: str | torch.device = "cpu", batch_size: int = 32):
        self.model, self.tokenizer = model.eval().to(device), tokenizer
        self.device, self.batch_size = torch.device(device), batch_size
        self.max_length = min(tokenizer.model_max_length or 10**9, _max_positions(model.config))

    def preprocess(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, cut to the model's maximum length (with a warning: answers then ignore the rest)."""
        encoded = self.tokenizer(texts, truncation=False)["input_ids"]
        too_long = [i for i, ids in enumerate(encoded) if len(ids) > self.max_length]
        if too_long:
            warnings.warn(f"{len(too_long)} text(s) are longer than the model's {self.max_length} tokens and were "
                          "truncated; the answer only sees their beginning", stacklevel=3)
            encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        return encoded

    def _batch(self, ids: list[list[int]]) -> dict[str, torch.Tensor]:
        """Pad a batch of id lists into tensors (the same padding as the tokenizer's)."""
        width = max(map(len, ids))
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=self.device)
        attention_mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=self.device)
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def _forward(self, batch: dict[str, torch.Tensor]):
        return self.model(**batch)

    def postprocess(self, outputs, batch: dict[str, torch.Tensor], **kwargs) -> list:
        raise NotImplementedError

    def __call__(self, inputs, batch_size: int | None = None, **kwargs):
        single = isinstance(inputs, str)
        iterable = hasattr(inputs, "__iter__") and not isinstance(inputs, dict | bytes)
        texts = [inputs] if single else list(inputs) if iterable else None
        if texts is None or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{type(self).__name__} takes a string or a list of strings, got {inputs!r:.80}")
        if not texts:
            raise ValueError("the list of texts is empty: give at least one text")
        ids = self.preprocess(texts)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # short with short: less padding
        results: list = [None] * len(texts)
        size = batch_size or self.batch_size
        with torch.no_grad():
            for start in range(0, len(order), size):
                chunk = order[start:start + size]
                batch = self._batch([ids[i] for i in chunk])
                for i, answer in zip(chunk, self.postprocess(self._forward(batch), batch, **kwargs)):
                    results[i] = answer
        return results[0] if single else results


def _max_positions(config) -> int:
    return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 512)


class FeatureExtractionPipeline(Pipeline):
    """A sentence embedding per text: the mean of the token vectors (padding excluded), normalised to length 1,
    as sentence-transformers' models such as MiniLM were trained to be used."""

    def __init__(self, *args, normalize: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.normalize = normalize

    def postprocess(self, outputs, batch, **kwargs) -> list[torch.Tensor]:
        pooled = mean_pooling(outputs.last_hidden_state, batch["attention_mask"])  # (B, hidden)
        return list(F.normalize(pooled, dim=-1) if self.normalize else pooled)

    def embed(self, texts: list[str]) -> torch.Tensor:
        """All embeddings as one (number of texts, hidden) tensor."""
        return torch.stack(Pipeline.__call__(self, list(texts)))


class SentenceSimilarityPipeline(FeatureExtractionPipeline):
    """Cosine similarity of one sentence with others, and semantic search over a corpus."""

    def __call__(self, source_sentence: str, sentences: list[str] | None = None, **kwargs):
        if sentences is None:
            raise TypeError("give the sentences to compare with: pipe(source_sentence, sentences=[...])")
        embeddings = self.embed([source_sentence, *sentences])
        return (embeddings[1:] @ embeddings[0]).tolist()

    def search(self, query: str, corpus: list[str] | torch.Tensor, top_k: int = 5, texts: list[str] | None = None):
        """The `top_k` corpus entries closest to `query`: [{"corpus_id", "score", "text"}], best first.

        `corpus` is a list of texts, or their embeddings computed once with `embed` (then pass `texts` to see them).
        """
        corpus_embeddings = self.embed(corpus) if not isinstance(corpus, torch.Tensor) else corpus
        texts = texts if texts is not None else corpus if not isinstance(corpus, torch.Tensor) else None
        scores = corpus_embeddings @ self.embed([query])[0]
        best = scores.topk(min(top_k, len(scores)))
        return [{"corpus_id": i, "score": s, **({"text": texts[i]} if texts is not None else {})}
                for s, i in zip(best.values.tolist(), best.indices.tolist())]


class ZeroShotClassificationPipeline(FeatureExtractionPipeline):
    """Classify a text into labels never trained on, by comparing its embedding with the embedding of a sentence
    made from each label ("This example is about sports.").

    This is not the NLI-based zero-shot of 🤗 Transformers, which asks an entailment model, for each label, whether the
    text implies the sentence. Similarity only says which label sentence is closest in meaning; scores are a softmax
    over those similarities, sharpened by `temperature`.
    """

    def __call__(self, sequences, candidate_labels: list[str] | None = None,
                 hypothesis_template: str = "This example is about {}.", temperature: float = 0.05, **kwargs):
        if not candidate_labels:
            raise ValueError("give candidate_labels, e.g. pipe(text, candidate_labels=['sports', 'politics'])")
        if "{}" not in hypothesis_template:
            raise ValueError(f"hypothesis_template {hypothesis_template!r} needs a {{}} where the label goes")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature}; it must be positive (smaller is sharper)")
        single = isinstance(sequences, str)
        texts = [sequences] if single else list(sequences)
        label_embeddings = self.embed([hypothesis_template.format(label) for label in candidate_labels])
        text_embeddings = self.embed(texts)
        answers = []
        for text, similarity in zip(texts, text_embeddings @ label_embeddings.T):
            scores = (similarity / temperature).softmax(-1)
            order = scores.argsort(descending=True).tolist()
            answers.append({"sequence": text, "labels": [candidate_labels[i] for i in order],
                            "scores": [scores[i].item() for i in order],
                            "similarities": [similarity[i].item() for i in order]})
        return answers[0] if single else answers


def _labels(config) -> dict[int, str]:
    """id -> label name, from config.json's id2label (LABEL_0, LABEL_1, ... when there is none)."""
    given = config.extra.get("id2label") or {}
    return {i: given.get(str(i), given.get(i, f"LABEL_{i}")) for i in range(config.num_labels)}


class TextClassificationPipeline(Pipeline):
    """A label and its probability for each text: softmax over the classifier's logits, names from id2label."""

    model_class = AutoModelForSequenceClassification

    def postprocess(self, outputs, batch, top_k: int | None = 1, **kwargs) -> list:
        labels = _labels(self.model.config)
        probabilities = outputs.logits.softmax(-1) if outputs.logits.size(-1) > 1 else outputs.logits.sigmoid()
        answers = []
        for row in probabilities:
            ranked = [{"label": labels[i], "score": row[i].item()} for i in row.argsort(descending=True).tolist()]
            answers.append(ranked[0] if top_k == 1 else ranked[:top_k] if top_k else ranked)
        return answers


class FillMaskPipeline(Pipeline):
    """The most likely tokens for the mask token in each text, with the text completed by each."""

    model_class = AutoModelForMaskedLM

    def preprocess(self, texts):
        mask = self.tokenizer.mask_token
        if mask is None:
            raise ValueError("this tokenizer has no mask token, so it cannot be used for fill-mask")
        for text in texts:
            if text.count(mask) != 1:
                raise ValueError(f"each text needs exactly one {mask} where the word to predict goes; "
                                 f"{text!r:.60} has {text.count(mask)}")
        return super().preprocess(texts)

    def postprocess(self, outputs, batch, top_k: int = 5, **kwargs) -> list:
        mask_id = self.tokenizer.mask_token_id
        answers = []
        for ids, logits in zip(batch["input_ids"], outputs.logits):
            position = (ids == mask_id).nonzero()[0, 0]
            probabilities = logits[position].softmax(-1)
            best = probabilities.topk(top_k)
            real = ids[batch["attention_mask"][len(answers)].bool()].tolist()
            answer = []
            for score, token in zip(best.values.tolist(), best.indices.tolist()):
                filled = [token if i == position else t for i, t in enumerate(real)]
                answer.append({"score": score, "token": token, "token_str": self.tokenizer.convert_ids_to_tokens(token),
                               "sequence": self.tokenizer.decode(filled, skip_special_tokens=True)})
            answers.append(answer)
        return answers


TASKS: dict[str, tuple[type[Pipeline], str | None]] = {}


def register_task(name: str, pipeline_class: type[Pipeline], default_model: str | None = None) -> None:
    """Make `pipeline(name)` build `pipeline_class`; adding a task is one class and one call to this."""
    TASKS[name] = (pipeline_class, default_model)


MINILM = "sentence-transformers/all-MiniLM-L6-v2"
register_task("feature-extraction", FeatureExtractionPipeline, MINILM)
register_task("sentence-similarity", SentenceSimilarityPipeline, MINILM)
register_task("zero-shot-classification", ZeroShotClassificationPipeline, MINILM)
register_task("text-classification", TextClassificationPipeline)
register_task("fill-mask", FillMaskPipeline)


def pipeline(task: str, model=None, tokenizer=None, device: str = "cpu", **kwargs) -> Pipeline:
    """Build the pipeline for `task` from a model (a Hub id, a folder, or a loaded model) and its tokenizer.

    pipeline("feature-extraction")  # MiniLM sentence embeddings
    pipeline("text-classification", model="path/to/a/fine-tuned/model")
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; course_lib knows {', '.join(sorted(TASKS))}")
    pipeline_class, default = TASKS[task]
    model = model if model is not None else default
    if model is None:
        raise ValueError(f"task {task!r} has no default model: give model= (a Hub id or a folder)")
    if isinstance(model, str | Path):
        folder = Path(model) if Path(model).is_dir() else Path(snapshot_download(str(model)))
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(folder)
        model = pipeline_class.model_class.from_pretrained(folder)
    elif tokenizer is None:
        raise ValueError("a model object needs its tokenizer: pipeline(task, model=model, tokenizer=tokenizer)")
    if isinstance(tokenizer, str | Path):
        tokenizer = load_tokenizer(tokenizer)
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(f"the tokenizer has {len(tokenizer):,} tokens but the model's vocabulary has "
                         f"{model.config.vocab_size:,}: they do not belong together; load the tokenizer saved "
                         "with this model")
    return pipeline_class(model, tokenizer, device=device, **kwargs)

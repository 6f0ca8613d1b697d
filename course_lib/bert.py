import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import attention, padding_mask
from course_lib.config import BertConfig
from course_lib.modeling import (
    ModelOutput,
    PreTrainedModel,
    activation,
    check_attention_mask,
    check_input_ids,
)


class BertEmbeddings(nn.Module):
    """Token + position + segment embeddings, then layer norm: a (B, T) of ids becomes a (B, T, hidden)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)  # the checkpoint's name
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.size(1), device=input_ids.device)  # (T,): 0, 1, 2, ...
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))  # (B, T, hidden)


class BertSelfAttention(nn.Module):
    """Multi-head self-attention: every token looks at every (unmasked) token, in `num_attention_heads` subspaces."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.n_head = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = config.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, return_weights: bool = False):
        B, T, C = x.shape

        def heads(t):  # (B, T, C) -> (B, nh, T, hs)
            return t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

        out, weights = attention(heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), mask,
                                 self.dropout, self.training, return_weights)
        return out.transpose(1, 2).reshape(B, T, C), weights  # heads side by side again: (B, T, C)


class DenseNorm(nn.Module):
    """A linear layer, dropout, and layer norm of the sum with the residual: BERT's post-LN "add & norm"."""

    def __init__(self, d_in: int, d_out: int, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    """One encoder block: attention, add & norm, feed-forward, add & norm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        # Submodule names follow the checkpoint's: encoder.layer.0.attention.self.query.weight, ...
        self.attention = nn.Module()
        self.attention.self = BertSelfAttention(config)
        self.attention.output = DenseNorm(config.hidden_size, config.hidden_size, config)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = activation(config.hidden_act)
        self.output = DenseNorm(config.intermediate_size, config.hidden_size, config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, return_weights: bool = False):
        a, weights = self.attention.self(x, mask, return_weights)
        x = self.attention.output(a, x)  # (B, T, hidden)
        h = self.act(self.intermediate.dense(x))  # (B, T, intermediate)
        return self.output(h, x), weights


class BertModel(PreTrainedModel):
    """The BERT encoder: embeddings, `num_hidden_layers` blocks, and a pooler over the first ([CLS]) token."""

    config_class = BertConfig
    _ignore_unexpected = (r"position_ids$",)  # a buffer some checkpoints store

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.pooler = None
        if add_pooling_layer:
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.apply(self._init_weights)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_hidden_states: bool = False,
                output_attentions: bool = False) -> ModelOutput:
        input_ids = check_input_ids(input_ids, self.config.vocab_size, self.config.max_position_embeddings)
        if attention_mask is not None:
            check_attention_mask(attention_mask, tuple(input_ids.shape))
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        mask = padding_mask(attention_mask, x.dtype) if attention_mask is not None else None  # (B, 1, 1, T)
        hidden_states, attentions = [x], []
        for layer in self.encoder.layer:
            x, weights = layer(x, mask, output_attentions)
            hidden_states.append(x)
            attentions.append(weights)
        pooled = torch.tanh(self.pooler.dense(x[:, 0])) if self.pooler is not None else None  # (B, hidden)
        return ModelOutput(last_hidden_state=x, pooler_output=pooled,
                           hidden_states=tuple(hidden_states) if output_hidden_states else None,
                           attentions=tuple(attentions) if output_attentions else None)


class BertForSequenceClassification(PreTrainedModel):
    """BERT + dropout + a linear layer on the pooled [CLS] vector: one prediction per sequence."""

    config_class = BertConfig
    base_model_prefix = "bert"
    _ignore_unexpected = BertModel._ignore_unexpected

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_weights(self.classifier)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **kwargs) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, **kwargs)
        out.logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        if labels is not None:
            out.loss = F.mse_loss(out.logits.squeeze(-1), labels.float()) if self.config.num_labels == 1 else \
                F.cross_entropy(out.logits, labels)
        return out


class BertForTokenClassification(PreTrainedModel):
    """BERT + dropout + a linear layer on every token: one prediction per token (labels -100 are ignored)."""

    config_class = BertConfig
    base_model_prefix = "bert"
    _ignore_unexpected = BertModel._ignore_unexpected + (r"^pooler\.", r"^bert\.pooler\.")

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_weights(self.classifier)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **kwargs) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, **kwargs)
        out.logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        if labels is not None:
            out.loss = F.cross_entropy(out.logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return out


class BertForMaskedLM(PreTrainedModel):
    """BERT + a prediction head giving, for every position, scores over the vocabulary (tied to the embeddings)."""

    config_class = BertConfig
    base_model_prefix = "bert"
    _ignore_unexpected = BertModel._ignore_unexpected + (r"^pooler\.", r"^bert\.pooler\.")
    _tied = (("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"),)

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = nn.Module()
        self.cls.predictions = p = nn.Module()
        p.transform = nn.Module()
        p.transform.dense = nn.Linear(config.hidden_size, config.hidden_size)
        p.transform.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        p.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        p.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.act = activation(config.hidden_act)
        self.apply(self._init_weights)
        self.tie_weights()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **kwargs) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, **kwargs)
        p = self.cls.predictions
        h = p.transform.LayerNorm(self.act(p.transform.dense(out.last_hidden_state)))
        out.logits = p.decoder(h) + p.bias  # (B, T, vocab_size)
        if labels is not None:  # -100 marks the positions that were not masked
            out.loss = F.cross_entropy(out.logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return out


def mean_pooling(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The average of the token vectors of each sequence, padding excluded: sentence-transformers' pooling."""
    mask = attention_mask[..., None].to(last_hidden_state.dtype)  # (B, T, 1)
    return (last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, hidden)

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.attention import attention, causal_mask, padding_mask
from course_lib.config import GPT2Config
from course_lib.modeling import (
    ModelOutput,
    PreTrainedModel,
    activation,
    check_attention_mask,
    check_input_ids,
)


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention: each token sees itself and the tokens before it, never after."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # query, key and value in one matrix
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = config.attn_pdrop
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x, mask, past: tuple[torch.Tensor, torch.Tensor] | None = None, return_weights: bool = False):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if past is not None:  # the cache: keys and values of the earlier tokens, computed once
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, nh, T_past + T, hs)
        out, weights = attention(q, k, v, mask, self.attn_dropout, self.training, return_weights)
        out = self.resid_dropout(self.c_proj(out.transpose(1, 2).reshape(B, T, C)))
        return out, (k, v), weights


class GPT2MLP(nn.Module):
    """The feed-forward layer: widen to 4 x n_embd, GELU, back to n_embd."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, inner)
        self.c_proj = nn.Linear(inner, config.n_embd)
        self.act = activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class GPT2Block(nn.Module):
    """A pre-LN block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, x, mask, past=None, return_weights: bool = False):
        a, present, weights = self.attn(self.ln_1(x), mask, past, return_weights)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present, weights


class GPT2Model(PreTrainedModel):
    """The GPT-2 decoder: token and learned position embeddings, `n_layer` blocks, a final layer norm."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    _ignore_unexpected = (r"\.attn\.bias$", r"\.attn\.masked_bias$")  # causal-mask buffers of old checkpoints
    _transposed = (r"attn\.c_attn\.weight$", r"attn\.c_proj\.weight$", r"mlp\.c_fc\.weight$", r"mlp\.c_proj\.weight$")

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.apply(self._init_weights)

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache: bool = False,
                output_hidden_states: bool = False, output_attentions: bool = False) -> ModelOutput:
        past_length = past_key_values[0][0].size(2) if past_key_values else 0
        input_ids = check_input_ids(input_ids, self.config.vocab_size, self.config.n_positions, past_length)
        B, T = input_ids.shape
        positions = torch.arange(past_length, past_length + T, device=input_ids.device)  # (T,)
        x = self.drop(self.wte(input_ids) + self.wpe(positions))  # (B, T, n_embd)
        mask = causal_mask(T, past_length + T, x.dtype, x.device)  # (1, 1, T, T_past + T)
        if attention_mask is not None:
            check_attention_mask(attention_mask, (B, past_length + T))  # covers the cached tokens too
            mask = torch.maximum(mask + padding_mask(attention_mask, x.dtype), torch.tensor(torch.finfo(x.dtype).min))
        hidden_states, attentions, presents = [x], [], []
        for i, block in enumerate(self.h):
            x, present, weights = block(x, mask, past_key_values[i] if past_key_values else None, output_attentions)
            hidden_states.append(x)
            attentions.append(weights)
            presents.append(present)
        x = self.ln_f(x)
        hidden_states[-1] = x  # as in 🤗 Transformers, the last hidden state is after the final layer norm
        return ModelOutput(last_hidden_state=x, past_key_values=tuple(presents) if use_cache else None,
                           hidden_states=tuple(hidden_states) if output_hidden_states else None,
                           attentions=tuple(attentions) if output_attentions else None)


class GPT2LMHeadModel(PreTrainedModel):
    """GPT-2 with its language-modelling head: next-token logits from the last hidden states (tied to wte)."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    _ignore_unexpected = GPT2Model._ignore_unexpected
    _transposed = GPT2Model._transposed
    _tied = (("lm_head.weight", "transformer.wte.weight"),)

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.tie_weights()
        else:
            self._tied = ()
            self._init_weights(self.lm_head)

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache: bool = False, labels=None,
                **kwargs) -> ModelOutput:
        out = self.transformer(input_ids, attention_mask, past_key_values, use_cache, **kwargs)
        out.logits = self.lm_head(out.last_hidden_state)  # (B, T, vocab_size)
        if labels is not None:  # predict token t+1 from tokens up to t
            out.loss = F.cross_entropy(out.logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)
        return out

    @torch.no_grad()
    def generate_greedy(self, input_ids: torch.Tensor, max_new_tokens: int, use_cache: bool = True) -> torch.Tensor:
        """Append `max_new_tokens` tokens, each the most likely next one. With the cache, each step feeds only the
        newest token and reuses the keys and values of the others; without it, the whole sequence is run again."""
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens={max_new_tokens}; give 0 or more")
        ids, past = input_ids, None
        for _ in range(max_new_tokens):
            out = self(ids[:, -1:] if past is not None else ids, past_key_values=past, use_cache=use_cache)
            past = out.past_key_values if use_cache else None
            ids = torch.cat([ids, out.logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return ids

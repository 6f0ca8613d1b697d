import math

import torch
import torch.nn.functional as F


def padding_mask(attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, T) of 1 (token) / 0 (padding) -> an additive mask (B, 1, 1, T): 0 where allowed, a huge negative where not.

    A huge finite negative, not -inf: a row that is all padding then gets uniform weights instead of NaN.
    """
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def causal_mask(query_length: int, key_length: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """(1, 1, Tq, Tk) additive mask letting query i see keys up to its own position (keys may include a cache)."""
    offset = key_length - query_length  # with a cache, the queries are the last positions
    allowed = torch.ones(query_length, key_length, dtype=torch.bool, device=device).tril(diagonal=offset)
    return torch.zeros(query_length, key_length, dtype=dtype, device=device).masked_fill(
        ~allowed, torch.finfo(dtype).min)[None, None]


def attention_by_hand(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
                      dropout: float = 0.0, training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out: softmax(q k^T / sqrt(d) + mask) v.

    q (B, nh, Tq, hs), k and v (B, nh, Tk, hs), mask additive, broadcastable to (B, nh, Tq, Tk).
    Returns the output (B, nh, Tq, hs) and the attention weights (B, nh, Tq, Tk).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, Tq, Tk): how well each query matches each key
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(dim=-1)  # each row sums to 1
    return F.dropout(weights, dropout, training) @ v, weights


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              dropout: float = 0.0, training: bool = False, return_weights: bool = False):
    """The same computation: by hand when the weights are wanted, else PyTorch's fused kernel (faster, less memory).

    Returns (output, weights or None).
    """
    if return_weights:
        return attention_by_hand(q, k, v, mask, dropout, training)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout if training else 0.0)
    return out, None


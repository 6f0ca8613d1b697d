import math

import torch


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """The fixed position encodings of "Attention is all you need": sines and cosines of geometric wavelengths.

    Row p, columns 2i and 2i+1: sin(p / 10000^(2i/dim)) and cos(p / 10000^(2i/dim)). Shape (n_positions, dim).
    """
    position = torch.arange(n_positions, dtype=torch.float32)[:, None]  # (P, 1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (dim/2,)
    table = torch.zeros(n_positions, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table

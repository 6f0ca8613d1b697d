import importlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from huggingface_hub import snapshot_download
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from course_lib.config import CONFIGS, ConfigError, PretrainedConfig


WEIGHTS = "model.safetensors"


def activation(name: str) -> nn.Module:
    """The feed-forward non-linearity a config names: "gelu" (exact, BERT), "gelu_new" (tanh approximation, GPT-2)."""
    choices = {"gelu": nn.GELU, "gelu_new": lambda: nn.GELU(approximate="tanh"),
               "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"), "relu": nn.ReLU}
    if name not in choices:
        raise ValueError(f"activation {name!r} is not one course_lib knows ({', '.join(choices)})")
    return choices[name]()


class CheckpointError(ValueError):
    """Weights that do not fit the model, or a weights file that cannot be read; the message names the tensors."""


@dataclass
class ModelOutput:
    """What a model returns; fields that were not computed are None. Works as `out.logits` and as `out["logits"]`."""

    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None  # the embeddings, then the output of every layer
    attentions: tuple[torch.Tensor, ...] | None = None  # every layer's attention weights (B, heads, T, T)
    past_key_values: tuple | None = None  # the key/value cache of a decoder
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None

    def __getitem__(self, key: str):
        return getattr(self, key)

    def keys(self) -> list[str]:
        return [k for k in self.__dataclass_fields__ if getattr(self, k) is not None]


@dataclass
class LoadingReport:
    """How a checkpoint's tensors matched the model's parameters."""

    missing: list[str] = field(default_factory=list)  # parameters the checkpoint lacks: freshly initialised
    unexpected: list[str] = field(default_factory=list)  # tensors the model has no place for: ignored
    mismatched: list[str] = field(default_factory=list)  # same name, different shape


def check_input_ids(input_ids, vocab_size: int, max_positions: int, past_length: int = 0) -> torch.Tensor:
    """input_ids must be integer token ids of shape (batch, sequence), in the vocabulary, and fit the positions."""
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor of token ids, got {type(input_ids).__name__}; "
                        "use the tokenizer with return_tensors='pt'")
    if input_ids.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
        raise TypeError(f"input_ids must hold integer token ids, got dtype {input_ids.dtype}; "
                        "did you pass embeddings or a float tensor? Use input_ids.long()")
    if input_ids.dim() != 2:
        hint = "; for one sequence use input_ids[None]" if input_ids.dim() == 1 else ""
        raise ValueError(f"input_ids must have shape (batch, sequence), got {tuple(input_ids.shape)}{hint}")
    if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= vocab_size):
        bad = input_ids[(input_ids < 0) | (input_ids >= vocab_size)][0].item()
        raise ValueError(f"input_ids contains {bad}, outside the vocabulary (0 to {vocab_size - 1}); "
                         "was it made by a tokenizer for another model?")
    if past_length + input_ids.size(1) > max_positions:
        raise ValueError(f"sequence of {past_length + input_ids.size(1)} tokens is longer than the model's "
                         f"{max_positions} positions; truncate it (tokenizer(..., truncation=True, "
                         f"max_length={max_positions}))")
    return input_ids.long()


def check_attention_mask(attention_mask, shape: tuple[int, int]) -> torch.Tensor:
    """attention_mask must match input_ids (or ids plus cache) and give every sequence at least one token."""
    if attention_mask.shape != shape:
        raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}, expected {shape}; pass the mask "
                         "the tokenizer returned with these input_ids")
    empty = (attention_mask.sum(-1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"attention_mask rows {empty} are all padding: those sequences have no token to attend to. "
                         "Drop them from the batch (an empty text still has [CLS] and [SEP]: check how the mask was made)")
    return attention_mask


class PreTrainedModel(nn.Module):
    """What every course_lib model shares: loading and saving config.json + model.safetensors, by parameter name."""

    config_class = PretrainedConfig
    base_model_prefix = ""  # where a head model keeps its base model ("bert", "transformer")
    _ignore_unexpected: tuple[str, ...] = ()  # regexes of checkpoint tensors that are not parameters (buffers)
    _tied: tuple[tuple[str, str], ...] = ()  # (parameter, parameter it shares its tensor with)
    _transposed: tuple[str, ...] = ()  # regexes of weights a checkpoint stores as (in, out) (GPT-2's Conv1D)

    def __init__(self, config: PretrainedConfig):
        super().__init__()
        self.config = config

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's and GPT-2's initialisation: normal(0, initializer_range) weights, zero biases, unit layer norms."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def tie_weights(self) -> None:
        for target, source in self._tied:
            owner, name = self._owner(target)
            setattr(owner, name, self.get_parameter(source))

    def _owner(self, name: str) -> tuple[nn.Module, str]:
        path, _, leaf = name.rpartition(".")
        return self.get_submodule(path) if path else self, leaf

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())  # shared (tied) tensors count once

    # --- loading --------------------------------------------------------------------------------------------------
    def load_checkpoint(self, state: dict[str, torch.Tensor], source: str = "checkpoint") -> LoadingReport:
        """Copy tensors into parameters of the same name; report what is missing, unexpected or mis-shaped."""
        own = dict(self.state_dict())
        prefix = self.base_model_prefix + "." if self.base_model_prefix else ""
        if prefix and not any(k.startswith(prefix) for k in state) and any(prefix + k in own for k in state):
            state = {prefix + k: v for k, v in state.items()}  # a base-model checkpoint loaded into a head model
        if prefix and any(k.startswith(prefix) for k in state) and not any(k.startswith(prefix) for k in own):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}  # the other way round
        report = LoadingReport()
        tied = {target for target, _ in self._tied}
        for name, tensor in state.items():
            if name not in own:
                if not any(re.search(p, name) for p in self._ignore_unexpected):
                    report.unexpected.append(name)
                continue
            if any(re.search(p, name) for p in self._transposed) and tensor.dim() == 2:
                tensor = tensor.t()
            if tensor.shape != own[name].shape:
                report.mismatched.append(f"{name}: checkpoint {tuple(tensor.shape)}, model {tuple(own[name].shape)}")
                continue
            with torch.no_grad():
                self.get_parameter(name).copy_(tensor) if name in dict(self.named_parameters()) else \
                    self.get_buffer(name).copy_(tensor)
        report.missing = [n for n in dict(self.named_parameters()) if n not in state and n not in tied]
        if report.mismatched:
            raise CheckpointError(f"{source}: tensors whose shapes do not fit the model (is the config.json the one "
                                  f"that goes with these weights?): " + "; ".join(report.mismatched))
        self.tie_weights()
        return report

    @classmethod
    def from_pretrained(cls, name_or_path, revision: str | None = None, config: PretrainedConfig | None = None):
        """Load config.json and model.safetensors from a folder or a Hub repository; report what did not match.

        Weights are only ever read from safetensors: a pickled pytorch_model.bin can run arbitrary code when loaded.
        """
        folder = Path(name_or_path)
        if not folder.is_dir():
            folder = Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=["config.json", WEIGHTS]))
        config = config or cls.config_class.from_pretrained(folder)
        weights = folder / WEIGHTS
        if not weights.exists():
            found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise FileNotFoundError(f"{folder} has no {WEIGHTS} (found: {found}); course_lib reads safetensors only, "
                                    "never pickled .bin files")
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{weights}: cannot be read as safetensors ({e}); the file is damaged or "
                                  "incomplete: download it again") from None
        model = cls(config)
        report = model.load_checkpoint(state, str(weights))
        if report.missing:
            warnings.warn(f"{cls.__name__}: {len(report.missing)} weights are not in {weights} and were newly "
                          f"initialised: {', '.join(report.missing)}. Train the model before using it for predictions.",
                          stacklevel=2)
        if report.unexpected:
            warnings.warn(f"{cls.__name__}: {len(report.unexpected)} tensors of {weights} were not used: "
                          f"{', '.join(report.unexpected[:10])}{' ...' if len(report.unexpected) > 10 else ''}",
                          stacklevel=2)
        model.loading_report = report
        return model.eval()  # dropout off: loaded models are used for inference first

    def save_pretrained(self, folder) -> Path:
        """Write config.json and model.safetensors (tied tensors once), in the names 🤗 Transformers uses."""
        folder = Path(folder)
        self.config.save_pretrained(folder)
        tied = {target for target, _ in self._tied}
        state = {}
        for name, tensor in self.state_dict().items():
            if name in tied:
                continue
            if any(re.search(p, name) for p in self._transposed) and tensor.dim() == 2:
                tensor = tensor.t()
            state[name] = tensor.detach().contiguous().clone()
        path = folder / WEIGHTS
        save_file(state, str(path), metadata={"format": "pt"})
        return path


# model_type -> (module, class name) per task; the architectures' notebooks write the modules.
AUTO = {
    "AutoModel": {"bert": ("course_lib.bert", "BertModel"), "gpt2": ("course_lib.gpt2", "GPT2Model")},
    "AutoModelForCausalLM": {"gpt2": ("course_lib.gpt2", "GPT2LMHeadModel")},
    "AutoModelForMaskedLM": {"bert": ("course_lib.bert", "BertForMaskedLM")},
    "AutoModelForSequenceClassification": {"bert": ("course_lib.bert", "BertForSequenceClassification")},
    "AutoModelForTokenClassification": {"bert": ("course_lib.bert", "BertForTokenClassification")},
}


class _Auto:
    """Pick the architecture from `model_type` in config.json, as 🤗 Transformers' Auto classes do."""

    task = "AutoModel"

    @classmethod
    def model_class(cls, model_type: str):
        choices = AUTO[cls.task]
        if model_type not in choices:
            raise ConfigError(f"{cls.task} has no course_lib model for model_type {model_type!r} "
                              f"(it knows {', '.join(choices)}; course_lib implements {', '.join(CONFIGS)})")
        module, name = choices[model_type]
        return getattr(importlib.import_module(module), name)

    @classmethod
    def from_pretrained(cls, name_or_path, revision: str | None = None):
        folder = Path(name_or_path)
        if not folder.is_dir():
            folder = Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=["config.json", WEIGHTS]))
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
        return cls.model_class(model_type).from_pretrained(folder)

    @classmethod
    def from_config(cls, config: PretrainedConfig):
        return cls.model_class(config.model_type)(config)


class AutoModel(_Auto):
    """The base model (hidden states) for any model_type course_lib implements."""

    task = "AutoModel"


class AutoModelForCausalLM(_Auto):
    """A decoder with a language-modelling head (next-token logits)."""

    task = "AutoModelForCausalLM"


class AutoModelForMaskedLM(_Auto):
    """An encoder with a masked-language-modelling head."""

    task = "AutoModelForMaskedLM"


class AutoModelForSequenceClassification(_Auto):
    """An encoder with a classification head on the whole sequence."""

    task = "AutoModelForSequenceClassification"


class AutoModelForTokenClassification(_Auto):
    """An encoder with a classification head on every token."""

    task = "AutoModelForTokenClassification"

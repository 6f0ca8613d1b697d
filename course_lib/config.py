import dataclasses
import difflib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import snapshot_download


class ConfigError(ValueError):
    """A config.json that does not describe the architecture asked for; the message says which field and why."""


@dataclass
class PretrainedConfig:
    """What every model configuration shares: reading and writing 🤗 Transformers' config.json."""

    model_type = ""  # "bert", "gpt2": which architecture a config.json describes
    extra: dict = field(default_factory=dict, repr=False)  # fields we keep but do not use (architectures, ...)

    def to_dict(self) -> dict:
        """Every field, as config.json stores it: our fields, the unused ones we kept, and `model_type`."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**self.extra, **out, "model_type": self.model_type}

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def __repr__(self) -> str:  # print(config) shows the JSON, as in 🤗 Transformers
        return f"{type(self).__name__} {self.to_json_string()}"

    def save_pretrained(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config.json"
        path.write_text(self.to_json_string(), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "PretrainedConfig":
        """Build a config from a dict, checking `model_type` and the type of every known field."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: should hold a JSON object, got {type(data).__name__}")
        found = data.get("model_type")
        if found is not None and found != cls.model_type:
            raise ConfigError(f"{source}: model_type is {found!r}, but {cls.__name__} reads {cls.model_type!r} configs; "
                              f"load it with the class for {found!r} (or AutoConfig)")
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        values, extra = {}, {}
        for key, value in data.items():
            if key == "model_type":
                continue
            if key in known:
                default = known[key].default
                if isinstance(default, bool) and not isinstance(value, bool) or \
                        isinstance(default, int) and not isinstance(default, bool) and (not isinstance(value, int) or isinstance(value, bool)) or \
                        isinstance(default, float) and not isinstance(value, int | float) or \
                        isinstance(default, str) and not isinstance(value, str):
                    raise ConfigError(f"{source}: field {key!r} should be {type(default).__name__}, got {value!r}")
                values[key] = float(value) if isinstance(default, float) else value
            else:
                extra[key] = value  # kept and written back, so nothing is lost on a round trip
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
                if close:
                    warnings.warn(f"{source}: unknown field {key!r} is kept but not used; did you mean {close[0]!r}?",
                                  stacklevel=2)
        config = cls(**values, extra=extra)
        config.validate(source)
        return config

    def validate(self, source: str = "config") -> None:
        """Check values that would otherwise fail deep inside the model."""

    @classmethod
    def from_pretrained(cls, name_or_path, revision: str | None = None) -> "PretrainedConfig":
        """Read config.json from a folder, a file, or a Hub repository id."""
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "config.json"
        elif not path.is_file():
            path = Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=["config.json"])) / "config.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: a model folder needs a config.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: is not valid JSON ({e.msg}, line {e.lineno}, column {e.colno})") from None
        return cls.from_dict(data, str(path))


@dataclass(repr=False)
class BertConfig(PretrainedConfig):
    """A BERT-style encoder. The defaults are BERT-base's; MiniLM's config.json makes it 6 layers of 384."""

    model_type = "bert"
    vocab_size: int = 30522  # tokens in the vocabulary (rows of the token embedding)
    hidden_size: int = 768  # width of every token's vector between layers
    num_hidden_layers: int = 12  # transformer blocks
    num_attention_heads: int = 12  # heads per attention layer; hidden_size must divide evenly among them
    intermediate_size: int = 3072  # width of the feed-forward layer inside each block (4 x hidden_size)
    hidden_act: str = "gelu"  # the feed-forward non-linearity: "gelu" (exact), "gelu_new" (tanh), "relu"
    hidden_dropout_prob: float = 0.1  # dropout on embeddings and sub-layer outputs (training only)
    attention_probs_dropout_prob: float = 0.1  # dropout on attention weights (training only)
    max_position_embeddings: int = 512  # longest sequence: rows of the position table
    type_vocab_size: int = 2  # segment (token type) ids: sentence A and sentence B
    initializer_range: float = 0.02  # standard deviation of the random initial weights
    layer_norm_eps: float = 1e-12  # added to the variance in layer norm, for numerical safety
    pad_token_id: int = 0  # the id of [PAD]
    num_labels: int = 2  # classes of a classification head

    def validate(self, source: str = "config") -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"{source}: hidden_size={self.hidden_size} does not divide into "
                              f"num_attention_heads={self.num_attention_heads} heads")
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"{source}: hidden_act={self.hidden_act!r}; course_lib knows {', '.join(ACTIVATIONS)}")


@dataclass(repr=False)
class GPT2Config(PretrainedConfig):
    """A GPT-2-style decoder. The defaults are GPT-2 small's (124M parameters)."""

    model_type = "gpt2"
    vocab_size: int = 50257  # tokens in the vocabulary
    n_positions: int = 1024  # longest sequence (context length)
    n_embd: int = 768  # width of every token's vector
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads per block
    n_inner: int | None = None  # feed-forward width; None means 4 x n_embd
    activation_function: str = "gelu_new"  # GPT-2 uses the tanh approximation of GELU
    resid_pdrop: float = 0.1  # dropout on sub-layer outputs (training only)
    embd_pdrop: float = 0.1  # dropout on the embeddings (training only)
    attn_pdrop: float = 0.1  # dropout on attention weights (training only)
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    bos_token_id: int = 50256  # GPT-2's <|endoftext|> starts and ends texts
    eos_token_id: int = 50256
    tie_word_embeddings: bool = True  # the output layer reuses the token embedding matrix

    def validate(self, source: str = "config") -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(f"{source}: n_embd={self.n_embd} does not divide into n_head={self.n_head} heads")
        if self.activation_function not in ACTIVATIONS:
            raise ConfigError(f"{source}: activation_function={self.activation_function!r}; "
                              f"course_lib knows {', '.join(ACTIVATIONS)}")


ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
CONFIGS = {c.model_type: c for c in (BertConfig, GPT2Config)}


class AutoConfig:
    """Pick the configuration class from `model_type` in config.json."""

    @staticmethod
    def from_pretrained(name_or_path, revision: str | None = None) -> PretrainedConfig:
        path = Path(name_or_path)
        if not path.exists():
            path = Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=["config.json"]))
        path = path / "config.json" if path.is_dir() else path
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        model_type = data.get("model_type")
        if model_type not in CONFIGS:
            raise ConfigError(f"{path}: model_type {model_type!r} is not one course_lib implements "
                              f"({', '.join(CONFIGS)})")
        return CONFIGS[model_type].from_dict(data, str(path))


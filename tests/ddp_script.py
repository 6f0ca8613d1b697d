"""Train a tiny BERT classifier with course_lib's Trainer and save its final weights.

Run by tests/test_training.py twice: under `torchrun --nproc_per_node=2` with a per-process batch of 4, and as one
process with a batch of 8; the two final weights must agree (the same global batches, the same updates).
usage: python tests/ddp_script.py OUTPUT_DIR PER_DEVICE_BATCH_SIZE
"""

import sys

import torch
from datasets import Dataset

from course_lib.bert import BertForSequenceClassification
from course_lib.config import BertConfig
from course_lib.trainer import Trainer, TrainingArguments


class Collate:
    def __call__(self, rows):
        length = max(len(r["input_ids"]) for r in rows)
        ids = torch.tensor([r["input_ids"] + [0] * (length - len(r["input_ids"])) for r in rows])
        return {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": torch.tensor([r["label"] for r in rows])}


def tiny_data(n: int = 48, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 12, (n,), generator=g).tolist()
    ids = [torch.randint(5, 99, (k,), generator=g).tolist() for k in lengths]
    return Dataset.from_dict({"input_ids": ids, "label": [int(sum(x) % 2) for x in ids]})


def tiny_model(dropout: float = 0.0) -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=32, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout))


if __name__ == "__main__":
    out, batch_size = sys.argv[1], int(sys.argv[2])
    args = TrainingArguments(out, num_train_epochs=4, per_device_train_batch_size=batch_size, learning_rate=3e-3,
                             gradient_accumulation_steps=2, warmup_ratio=0.1, group_by_length=True,
                             eval_strategy="no", disable_tqdm=True, logging_steps=1)
    trainer = Trainer(tiny_model(), args, train_dataset=tiny_data(), data_collator=Collate())
    trainer.train()
    trainer.save_model(out)

"""The two model families behind one generator: causal LMs and seq2seq (encoder-decoder) models.

The base model's config decides the family (`is_encoder_decoder`); everything that differs
between the two lives here: how a model is loaded, how a prompt becomes input ids, how a
training example is laid out and its loss computed, and how new text is cut from the output.

Causal LMs read the prompt through the tokenizer's chat template when it has one (an instruct
model then answers zero-shot the way it was tuned) and are trained to write the answer followed
by the end-of-turn token. Training pads on the left, so every example's answer ends the row and
the output layer runs only on the last positions: with Gemma's 262k vocabulary that layer costs
more than the rest of the model.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal, Sequence

Family = Literal["causal", "seq2seq"]
#: Appended to prompts of causal LMs whose tokenizer has no chat template.
PLAIN_ANSWER_CUE = "\nanswer:"
#: Text after which a causal LM's output is cut (it began another turn or another question).
STOP_STRINGS = ("<|im_start|>", "<start_of_turn>", "\nquestion:", "\ntranscript:")


def family_of(config: Any) -> Family:
    """'seq2seq' for encoder-decoder configs (T5, BART, BERT2BERT), else 'causal'."""
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"


def config_family(path_or_name: str) -> Family:
    from transformers import AutoConfig

    try:
        return family_of(AutoConfig.from_pretrained(path_or_name))
    except OSError as exc:
        raise FileNotFoundError(f"cannot read the model config of {path_or_name!r}: {exc}") from exc


def load_model(path_or_name: str, dtype: Any = None) -> Any:
    """The model at `path_or_name` with the Auto class of its family (a clear error if missing)."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    cls = AutoModelForSeq2SeqLM if config_family(path_or_name) == "seq2seq" else AutoModelForCausalLM
    try:
        return cls.from_pretrained(path_or_name, dtype=dtype)
    except OSError as exc:
        raise FileNotFoundError(f"cannot load model {path_or_name!r}: {exc}") from exc


def load_tokenizer(path_or_name: str, family: Family | None = None) -> Any:
    """The model's tokenizer, marked with its family (see `mark`)."""
    from transformers import AutoTokenizer

    return mark(AutoTokenizer.from_pretrained(path_or_name), family or config_family(path_or_name))


def _has_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def _is_causal_tokenizer(tokenizer: Any) -> bool:
    """Causal tokenizers here are those without an encoder's [CLS]/</s> framing: decided by the
    family recorded on the tokenizer when a Generator loads it, else by the chat template."""
    family = getattr(tokenizer, "minutes_family", None)
    return family == "causal" if family else _has_template(tokenizer)


def render(tokenizer: Any, prompt: str) -> str:
    """The text a causal LM is fed for `prompt` (chat template with the assistant cue, or a plain cue)."""
    if _has_template(tokenizer):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return prompt + PLAIN_ANSWER_CUE


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """Input ids of a causal prompt (the template carries its own special tokens)."""
    text = render(tokenizer, prompt)
    return list(tokenizer(text, add_special_tokens=not _has_template(tokenizer))["input_ids"])


@lru_cache(maxsize=32)
def _overhead(tokenizer: Any) -> int:
    if _is_causal_tokenizer(tokenizer):
        return len(prompt_ids(tokenizer, ""))
    try:
        return int(tokenizer.num_special_tokens_to_add(pair=False))
    except (AttributeError, NotImplementedError, TypeError):
        return 2  # BOS/EOS-style framing for tokenizers that cannot tell


def prompt_overhead(tokenizer: Any) -> int:
    """Tokens the model's framing adds around a prompt's text (template or special tokens)."""
    try:
        return _overhead(tokenizer)
    except TypeError:  # an unhashable tokenizer double in tests
        return _overhead.__wrapped__(tokenizer)


def mark(tokenizer: Any, family: Family) -> Any:
    """Record the family on the tokenizer (prompt budgets depend on it); left padding for causal."""
    tokenizer.minutes_family = family
    if family == "causal":
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# ------------------------------------------------------------------------------- training
def encode_causal(sources: Sequence[str], targets: Sequence[str], tokenizer: Any, max_source_tokens: int,
                  max_target_tokens: int, eos: int) -> tuple[list[list[int]], list[list[int]]]:
    """(input ids, labels): prompt then target + eos; labels are -100 on every prompt token."""
    inputs, labels = [], []
    for source, target in zip(sources, targets):
        prompt = prompt_ids(tokenizer, source)[-max_source_tokens:]
        answer = list(tokenizer(target, add_special_tokens=False)["input_ids"])[:max_target_tokens - 1] + [eos]
        inputs.append(prompt + answer)
        labels.append([-100] * len(prompt) + answer)
    return inputs, labels


def causal_batch(inputs: Sequence[list[int]], labels: Sequence[list[int]], pad_id: int) -> dict[str, Any]:
    """Left-padded tensors, with position ids that start at each row's first real token."""
    import torch

    n = max(map(len, inputs))
    ids = torch.tensor([[pad_id] * (n - len(s)) + s for s in inputs])
    mask = torch.tensor([[0] * (n - len(s)) + [1] * len(s) for s in inputs])
    lab = torch.tensor([[-100] * (n - len(t)) + t for t in labels])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "labels": lab}


def causal_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy on the answer tokens, with logits computed only where they are scored."""
    import torch

    labels = batch["labels"]
    scored = labels != -100
    # answers end every row (left padding): the span from the earliest answer token to the end
    first = int(scored.float().argmax(dim=1).min())
    keep = labels.shape[1] - first + 1
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"], logits_to_keep=keep)
    logits = out.logits[:, :-1, :]  # position i predicts token i + 1
    gold = labels[:, -(keep - 1):]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), gold.reshape(-1),
                                             ignore_index=-100)


def cut_at_stop(text: str) -> str:
    """The answer before any stop string (the model began a new turn or question)."""
    for stop in STOP_STRINGS:
        at = text.find(stop)
        if at >= 0:
            text = text[:at]
    return text

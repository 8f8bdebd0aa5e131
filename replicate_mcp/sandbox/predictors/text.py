"""Canned but plausible text: LLM replies, tokenization, transcripts, failure tracebacks."""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"\n+|'\w+|\s?\d|\s?[^\W\d_]+|\s?[^\w\s]+\n*|\s+")
_OPENERS = [
    "That's a great question! Here's how I would approach \"{topic}\".",
    'Here\'s a clear way to think about "{topic}".',
    'Let\'s break this down step by step: "{topic}".',
    'Sure! Here is an overview, starting from your question "{topic}".',
]
_SENTENCES = [
    "The key idea is to start from what you already know and build up from there.",
    "In practice, the details depend on your goals, your constraints and the time you have.",
    "A useful first step is to write down the problem in your own words.",
    "It often helps to compare a few options side by side before deciding.",
    "Small, frequent experiments tend to teach more than one large attempt.",
    "Keep in mind that trade-offs are normal: speed, cost and quality pull in different directions.",
    "If you get stuck, try a simpler version of the problem first.",
    "Measuring the result is the only reliable way to know whether a change helped.",
    "Many people find that a short checklist prevents the most common mistakes.",
    "Clear names and small pieces make the whole much easier to understand.",
]
_CLOSERS = [
    "I hope this helps! Let me know if you'd like more detail on any part.",
    "Feel free to ask a follow-up question if anything is unclear.",
]


def tokenize(text: str) -> list[str]:
    """Split text into Llama-looking chunks (" word", ".", "\\n\\n", digits one by one)."""
    return _TOKEN.findall(text)


def topic_of(prompt: str) -> str:
    words = prompt.split()
    topic = " ".join(words[:8]).rstrip("?.!:,;")
    return topic + ("..." if len(words) > 8 else "") if topic else "your question"


def compose_reply(prompt: str, rng: random.Random, min_tokens: int = 0) -> str:
    """A plausible assistant reply about the prompt: opener, a few paragraphs, closer."""
    parts = [rng.choice(_OPENERS).format(topic=topic_of(prompt)), "\n\n"]
    paragraphs = rng.randint(2, 4)
    for index in range(paragraphs):
        parts.append(f"{index + 1}. " + " ".join(rng.sample(_SENTENCES, 2)) + "\n\n")
    parts.append(rng.choice(_CLOSERS))
    text = "".join(parts)
    while len(tokenize(text)) < min_tokens:
        text += " " + rng.choice(_SENTENCES)
    return text


HARVARD_SENTENCES = [
    "the birch canoe slid on the smooth planks",
    "glue the sheet to the dark blue background",
    "it's easy to tell the depth of a well",
    "these days a chicken leg is a rare dish",
    "rice is often served in round bowls",
    "the juice of lemons makes fine punch",
    "the box was thrown beside the parked truck",
    "the hogs were fed chopped corn and garbage",
    "four hours of steady work faced us",
    "a large size in stockings is hard to sell",
    "the little tales they tell are false",
    "the door was barred locked and bolted as well",
    "ripe pears are fit for a queen's table",
    "a big wet stain was on the round carpet",
    "the kite dipped and swayed but stayed aloft",
    "the pleasant hours fly by much too soon",
]


# ---------------------------------------------------------------- failures


def cuda_oom(megabytes_needed: float, code_line: str) -> tuple[str, str]:
    """(log traceback, error) shaped like a real PyTorch out-of-memory failure on a 40 GB GPU."""
    error = (
        f"CUDA out of memory. Tried to allocate {megabytes_needed / 1024:.2f} GiB (GPU 0; "
        "39.39 GiB total capacity; 31.27 GiB already allocated; 5.84 GiB free; "
        "32.01 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting "
        "max_split_size_mb to avoid fragmentation.  See documentation for Memory Management and "
        "PYTORCH_CUDA_ALLOC_CONF"
    )
    logs = (
        "Traceback (most recent call last):\n"
        '  File "/root/.pyenv/versions/3.11.9/lib/python3.11/site-packages/cog/server/worker.py", '
        "line 349, in _predict\n"
        "    result = predict(**payload)\n"
        "             ^^^^^^^^^^^^^^^^^^\n"
        '  File "/src/predict.py", line 214, in predict\n'
        f"    {code_line}\n"
        '  File "/root/.pyenv/versions/3.11.9/lib/python3.11/site-packages/torch/utils/_contextlib.py", '
        "line 115, in decorate_context\n"
        "    return func(*args, **kwargs)\n"
        "           ^^^^^^^^^^^^^^^^^^^^^\n"
        '  File "/root/.pyenv/versions/3.11.9/lib/python3.11/site-packages/torch/nn/functional.py", '
        "line 4027, in interpolate\n"
        "    return torch._C._nn.upsample_bicubic2d(input, output_size, align_corners, scale_factors)\n"
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        f"torch.cuda.OutOfMemoryError: {error}\n"
    )
    return logs, error

"""Fake models for the sandbox. The engine imports OutputFile, Event, Plan and Predictor from here."""

from .base import Event, OutputFile, Plan, Predictor, finish, progress_events, tqdm_line
from .builtin import HelloWorld, ImageGenerator, LanguageModel, LoraTrainer, TextToVideo, Upscaler, Whisper
from .generic import GenericPredictor

__all__ = [
    "Event",
    "OutputFile",
    "Plan",
    "Predictor",
    "finish",
    "progress_events",
    "tqdm_line",
    "HelloWorld",
    "ImageGenerator",
    "LanguageModel",
    "LoraTrainer",
    "TextToVideo",
    "Upscaler",
    "Whisper",
    "GenericPredictor",
]

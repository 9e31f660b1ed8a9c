"""tutor: a terminal voice tutor for language learners."""

__version__ = "0.1.0"

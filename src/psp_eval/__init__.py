"""psp-eval: the evaluator's analysis of a Public Social Partnership, as one pipeline."""

__version__ = "0.1.0"

"""bitterlab: settle "build in structure" vs "just scale" with measurements."""

__version__ = "0.1.0"

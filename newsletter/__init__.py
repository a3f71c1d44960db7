"""newsletter: a self-hosted sender for a weekly email newsletter."""

__version__ = "0.1.0"

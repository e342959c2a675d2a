"""The toolkit's version, read by packaging and sent in the client's User-Agent."""

__version__ = "0.1.0"

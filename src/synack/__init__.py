"""synack: TCP as RFC 9293 defines it, in Python, that you can run, break, test and watch."""

__version__ = "0.1.0"

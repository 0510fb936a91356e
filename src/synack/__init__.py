"""synack: TCP as RFC 9293 defines it, in Python, that you can run, break, test and watch."""

from importlib.metadata import PackageNotFoundError, version

try:
    #: the installed distribution's version (written once, in pyproject.toml)
    __version__ = version("synack")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

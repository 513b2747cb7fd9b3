"""regtls: tells offline, from registry data, whether a Windows machine will use TLS 1.2."""

__version__ = "0.1.0"

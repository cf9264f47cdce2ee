"""Shared by every side of govhall: the wire contract, the config schema and the device link.

Apps, hardware bridges and the hall server import this package; it imports none of them.
"""

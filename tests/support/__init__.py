"""Helpers the tests of several folders share (each folder's fixtures sit in its own conftest.py)."""

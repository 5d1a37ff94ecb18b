"""Fixtures for tests that talk to the built-in emulator over HTTP."""

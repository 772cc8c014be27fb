"""Tests of the sandbox platform, over HTTP and through real Chromium."""

"""The `fleet` command: a thin layer that starts each part of the system."""

"""The `hall` command: its parser sits on top of everything, and nothing imports it."""

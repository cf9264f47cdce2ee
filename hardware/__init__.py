"""Drivers and simulators for the hall's hardware: LED screens (printers, keypads, ID readers to come)."""

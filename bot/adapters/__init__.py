"""Concrete implementations of the ports: storage, client directory, clock, crypto."""

"""Floorsync server: the Litestar app, its domain areas, the office UI and the command line."""

"""Scanning: what a scanned string says (gs1.py) and what it identifies (resolve.py), for the office and the floor."""

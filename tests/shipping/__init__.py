"""Shipments: planning, packing, loading and proof of delivery."""

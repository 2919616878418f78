"""Goods receipt and stock booked at a desk."""

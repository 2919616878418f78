"""Purchasing: purchase orders with their lines, approval and status; what a receipt is checked against."""

"""Inspections, holds, NCRs and the verdict rules."""

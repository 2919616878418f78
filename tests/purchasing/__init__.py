"""Purchase orders and their rules."""

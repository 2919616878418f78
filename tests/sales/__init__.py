"""Sales orders, their changes, tracking, import, pricing and the sales rules."""

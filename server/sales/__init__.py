"""Sales orders, as small as shipping needs them: a customer's order with its lines, confirmation, cancellation,
and what deliveries did to it (shipped and backorder quantities). The order lifecycle issue grows it."""

"""The order cascade and the order's way through the factory: above sales, production, shipping and purchasing,
it drives them (cancel, close, change) and reads them (downstream facts, tracking, late lines)."""

"""Items, master data and the factory calendar."""

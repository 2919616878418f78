"""Labels the system prints and scanning what they encode (GS1 and internal symbols)."""

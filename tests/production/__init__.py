"""Production orders on the floor, and a whole day of the factory from receipt to delivery."""

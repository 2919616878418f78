"""Production orders: release of routing and BOM onto the order, material issue, operation reports and downtime."""

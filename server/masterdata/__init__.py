"""Master data: units, items, BOMs, routings, work centres, sites, warehouses, locations, customers, suppliers."""

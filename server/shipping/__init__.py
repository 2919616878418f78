"""Shipping: shipments from sales order lines, FEFO pick lists, packing into SSCC-labelled handling units, loading
onto a vehicle and route, and the customer's signature as a tamper-evident proof of delivery."""

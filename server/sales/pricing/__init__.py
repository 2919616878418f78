"""What a customer pays and is offered: price lists with quantity breaks and grade discounts, contracts with agreed
prices and quantities, and quotes priced from them that convert into a sales order. Its pure price rules are in
rules.py; sales orders are priced through price_lists.py."""

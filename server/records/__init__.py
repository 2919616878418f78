"""Code-keyed records (master data and the like): one description per resource, one service, one REST controller.

A `Resource` says which table, which contracts and which references a record has; `service` lists, reads,
creates, updates, archives, imports and exports any resource in one transaction with its audit row, and
`controller` turns a resource into its REST endpoints.
"""

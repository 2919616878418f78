"""Sync protocol v1: enrolment, push exactly once, scoped pull, live pokes and boards, faults and the simulation."""

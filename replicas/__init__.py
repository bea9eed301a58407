"""Seeded local replicas of the territory's e-commerce platforms, with ground truth.

``replicas.world`` generates the world (shops, products, offers, their truth),
``replicas.platforms`` serves it as each platform does, ``replicas.faults``
injects the faults a crawler meets, ``replicas.server`` runs them on loopback.
"""

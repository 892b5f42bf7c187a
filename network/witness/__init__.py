"""Nodes watch each other's audit logs: each countersigns its peers' signed checkpoints that extend the last it saw.

models.py (tables), domain.py (the countersignature and the consistency rule), observe.py (the periodic look at
each peer), status.py (what was recorded), verify.py (`audit verify --witnesses`), api.py, tasks.py.
"""

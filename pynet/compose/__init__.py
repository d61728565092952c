"""``pynet compose``: a Compose file's networks and services, planned and applied on the core.

An orchestrator above the composition root: ``loader`` (YAML with marks), ``schema`` +
``service_keys`` (the networking subset -> ``model``), ``planner`` (what ``up``/``down``
must do), ``apply`` (the steps through the Controller), ``operations`` (what the cli
calls). The only importer of pyyaml. See docs/topologies.md, "Compose".
"""

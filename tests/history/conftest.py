from tests.sla.conftest import agent, it, pm, site  # noqa: F401  (the same people and site)

"""The checks: one module per kind, registered in ``registry``; run by ``pool``."""

"""``chat-smoke serve``: a multi-target exporter for Prometheus (the blackbox_exporter
pattern, ``/probe?target=NAME&module=NAME``), and the Pushgateway push of a batch run.

Prometheus schedules the probes, Alertmanager routes the alerts: this package only answers
scrapes. ``config`` reads ``targets:``/``modules:``/``serve:`` from chat-smoke.yml,
``prober`` runs the gate for a target with a cache, single flight, a concurrency cap and a
daily budget, ``server`` is the HTTP side and the process lifecycle, ``push`` the batch
mode. docs/monitoring.md is the guide.
"""

from __future__ import annotations

# Prometheus' default port allocations (github.com/prometheus/prometheus/wiki/
# Default-port-allocations): 9090-9094 are Prometheus' own components and 9100-9999 is
# allocated to exporters in full. 8766 is outside both ranges, one above the stub's 8765,
# so the local try-out runs both without a clash.
DEFAULT_PORT = 8766
DEFAULT_HOST = "127.0.0.1"

"""The server's Prometheus metrics (prometheus-client), served at ``GET /metrics``
(docs/observability.md).

Only the HTTP app imports this package: prometheus-client decides when it is
first imported whether values live in memory or in the per-worker files of
``PROMETHEUS_MULTIPROC_DIR``, which ``scimsrv serve`` sets up before its
workers load the app (:mod:`scimsrv.metrics.workers`).
"""

"""The server's Prometheus metrics (prometheus-client), served at ``GET /metrics``
(docs/observability.md).

prometheus-client decides when it is first imported whether values live in
memory or in the per-worker files of ``PROMETHEUS_MULTIPROC_DIR``, so only
the HTTP app imports it at module level; :mod:`scimsrv.metrics.workers`,
which the command line imports, sets that directory up before any worker
loads the app and imports prometheus-client only after.
"""

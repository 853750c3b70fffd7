# scimsrv: SCIM 2.0 provisioning server. Configure it with SCIMSRV_* variables;
# the default SQLite database lives in the /var/lib/scimsrv volume, use
# SCIMSRV_DATABASE_URL=postgresql://... for production.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 scimsrv \
    && useradd --system --uid 10001 --gid scimsrv --no-create-home \
        --home-dir /var/lib/scimsrv --shell /usr/sbin/nologin scimsrv \
    && mkdir -p /var/lib/scimsrv \
    && chown scimsrv:scimsrv /var/lib/scimsrv

WORKDIR /src
COPY pyproject.toml README.md ./
COPY licensing_core ./licensing_core
COPY scimsrv ./scimsrv
RUN pip install --no-cache-dir .

WORKDIR /var/lib/scimsrv
# Listening on every interface is right inside a container only; the default
# outside one stays 127.0.0.1.
ENV SCIMSRV_DATABASE_URL=sqlite:////var/lib/scimsrv/scimsrv.db \
    SCIMSRV_HOST=0.0.0.0 \
    SCIMSRV_PORT=8000 \
    SCIMSRV_WORKERS=1
VOLUME ["/var/lib/scimsrv"]
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SCIMSRV_PORT', '8000'), timeout=4)"]

CMD ["scimsrv", "serve"]

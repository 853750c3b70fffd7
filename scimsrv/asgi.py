"""The ASGI entry point uvicorn loads in each worker process."""

from scimsrv.http.app import create_app

app = create_app()

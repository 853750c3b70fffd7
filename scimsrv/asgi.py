"""The ASGI entry point uvicorn loads in each worker process."""

from scimsrv.app import create_app

app = create_app()

"""The web application: FastAPI routes, Jinja2 templates, htmx; built by ``app.create_app``."""

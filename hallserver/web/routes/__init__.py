"""The dashboard's routes, one module per area, each with its own APIRouter (assembled by web/app.py)."""

"""`python -m localnet start|reset|status`: the same commands as `solmeter localnet`."""
from .cli import app

app(prog_name="localnet")

"""The web dashboard served by the meter: customer, provider, public auditor and operator views, signed in
with a Solana wallet (Sign-In With Solana). `mount(app, context)` adds its routes to the meter's app."""
from .routes import DashboardContext, mount

__all__ = ["DashboardContext", "mount"]

"""The user-facing error hierarchy. The CLI prints any SolmeterError as one line, never a traceback."""


class SolmeterError(Exception):
    """Base of every error the CLI reports as one clear line."""


class ConfigError(SolmeterError):
    """A configuration file, setting or keypair file is missing or malformed."""

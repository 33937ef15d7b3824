"""The auditor's errors. AuditError is the auditor's own base: the CLI (solmeter/cli.py ONE_LINE_ERRORS,
solmeter/commands/audit.py) prints any of them as one line, as it does a SolmeterError.

A failed CHECK is not an error: it is a result in the report. Errors are for when an audit cannot run at
all (a malformed receipt file, an unreachable RPC node, an account that does not decode).
"""


class AuditError(Exception):
    """The audit could not be carried out."""


class ReceiptFileError(AuditError):
    """A signed-receipt document is malformed; the message names the field."""


class ChainReadError(AuditError):
    """The chain could not be read, or an account or event there does not decode."""


class ApiReadError(AuditError):
    """The metering API could not be reached or answered something that is not a receipt."""


class ApiForbidden(ApiReadError):
    """The metering API serves this only to its parties (a channel's receipt list: its customer, its
    provider, the operator): the request was unsigned or signed by a key that is none of them."""


class CrossCheckError(ChainReadError):
    """The second RPC node (--cross-check-url) answered a read differently: one of the two nodes lies or lags."""

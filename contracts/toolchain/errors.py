"""The toolchain's error hierarchy: one base class so the CLI can turn any of them into one line."""


class ToolchainError(Exception):
    """Base class of everything the SBF toolchain reports to its user."""


class ToolchainMissing(ToolchainError):
    """The Rust compiler or the core library sources are not installed."""


class BuildError(ToolchainError):
    """rustc failed, or produced something the build cannot use."""


class RelinkError(ToolchainError):
    """The object cannot be turned into an SBPF program (of the version asked for) that runs as compiled.

    `problems` holds every finding, each naming the function (or section) and the offset; the message
    is the first of them plus a count, so it fits one line.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "relink failed"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))

"""Exceptions that reach the command line, each with its documented exit code.

Exit codes (README, "Exit codes"):
  0  success (also: nothing was due)
  1  a sweep finished but some deliveries failed permanently or are in doubt
  2  command-line usage error (click's own code)
  3  configuration error (nothing was read or sent)
  4  a database could not be reached or a shop query broke the contract
  5  a channel could not be used at all (e.g. SMTP server unreachable at start; check: an
     enabled channel failed its probe)
  6  a template is broken
  7  a token was refused (tampered, expired, malformed, or of the other kind)
  8  a channel was throttled (quota, rate limit, account refused): its reminders wait for the
     next sweep, nothing was marked failed
  9  a file could not be written (a symlink, FIFO or device at the path, an existing file
     without --force, or no permission)
 70  an unexpected error (a bug): one line on stderr, the traceback with -vv (sysexits
     EX_SOFTWARE)
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_DELIVERY_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_DATABASE = 4
EXIT_CHANNEL = 5
EXIT_TEMPLATE = 6
EXIT_TOKEN = 7
EXIT_THROTTLED = 8
EXIT_FILE = 9
EXIT_INTERNAL = 70


class CartnudgeError(Exception):
    """Base class: a one-line message and the exit code the CLI should use."""

    exit_code = 1

    def __init__(self, message: str, *, more: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.more = tuple(more)

    @property
    def lines(self) -> tuple[str, ...]:
        """Each problem on its own line (the CLI prints one ``cartnudge: error:`` line each)."""
        return (self.message, *self.more)

    def __str__(self) -> str:
        return "; ".join(self.lines)


class ConfigError(CartnudgeError):
    exit_code = EXIT_CONFIG


class DatabaseError(CartnudgeError):
    exit_code = EXIT_DATABASE


class ContractError(DatabaseError):
    """A shop query returned the wrong columns or a row the contract does not allow."""


class ChannelError(CartnudgeError):
    exit_code = EXIT_CHANNEL


class TemplateError(CartnudgeError):
    exit_code = EXIT_TEMPLATE


class TokenError(CartnudgeError):
    exit_code = EXIT_TOKEN


class FileWriteError(CartnudgeError):
    """A file cartnudge was asked to write is not a regular file, exists, or cannot be written."""

    exit_code = EXIT_FILE

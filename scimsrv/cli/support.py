"""What every ``scimsrv`` sub-command shares: how a noun's typer app is made, the
tenant argument, settings, the migrated database, use cases run as the local
operator, tables (rich), counted nouns, warnings said once, and the one place
where failures become one line (``error: <reason>`` on stderr).

Exit codes: 0 success, 1 a failure the command reports, 2 a command line
click cannot parse (unknown option, bad value, missing argument).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup
from typer.main import get_current_context

from licensing_core.activation import ImportRejected
from licensing_core.db import Database
from licensing_core.errors import LicensingError
from licensing_core.plural import plural
from licensing_core.tenants import is_tenant_id
from scimsrv.scim.errors import ScimError
from scimsrv.services.audit import RequestInfo
from scimsrv.services.errors import Busy
from scimsrv.services.tokens import AmbiguousToken, UnknownToken
from scimsrv.services.transaction import LOCAL, Service, Tx
from scimsrv.settings import Settings
from scimsrv.storage import schema

__all__ = [
    "CONTEXT_SETTINGS",
    "TENANT",
    "Commands",
    "fail",
    "migrated",
    "noun_app",
    "now",
    "number",
    "plural",
    "print_table",
    "run",
    "settings",
    "tenant_given",
    "valid_tenant_id",
    "warn",
]

T = TypeVar("T")

ENV_PREFIX = "SCIMSRV"
# Every command's context: --help shows each option's default (and its
# environment variable: Commands names them).
CONTEXT_SETTINGS = {"show_default": True}

# The tenant a command acts on: the first argument of every command that has one.
TENANT = typer.Argument(
    ..., metavar="TENANT", help="Tenant id, as `scimsrv tenant list` shows it.", show_default=False
)

_said: set[str] = set()


def noun_app(help: str) -> typer.Typer:
    """A typer app for one noun (``scimsrv tenant ...``): help when called bare."""
    return typer.Typer(no_args_is_help=True, help=help)


class Commands(TyperGroup):
    """The root ``scimsrv`` group: whatever goes wrong, one ``error:`` line.

    click's own usage errors (unknown option, bad value, missing argument)
    print as ``error: <what> (see 'scimsrv ... --help')`` with exit code 2,
    instead of a usage block and a boxed panel. Every option without an
    environment variable of its own (a setting's, like ``SCIMSRV_PORT``)
    gets ``SCIMSRV_<COMMAND>_<OPTION>``, named after the option as typed:
    ``report usage --format`` is ``SCIMSRV_REPORT_USAGE_FORMAT``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_environment(self, (ENV_PREFIX,))

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _said.clear()
        args = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            code = exc.exit_code
        except typer.TyperException as exc:  # click's errors derive from it
            ctx = getattr(exc, "ctx", None)
            path = ctx.command_path if ctx is not None else self._path(prog_name, args)
            typer.echo(f"error: {_usage_error(exc, path)}", err=True)
            code = exc.exit_code
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def _path(self, prog_name: str | None, args: Sequence[str]) -> str | None:
        """The command ``args`` name (``scimsrv log``), for an error click raised
        while parsing an option, before it had the command's context; None
        when they name no command."""
        words, command = [prog_name or self.name or "scimsrv"], self
        for word in args:
            command = getattr(command, "commands", {}).get(word)
            if command is None:
                break
            words.append(word)
            if not hasattr(command, "commands"):
                return " ".join(words)
        return None


def _name_environment(command: Any, path: tuple[str, ...]) -> None:
    for param in command.params:
        if param.param_type_name == "option" and param.envvar is None:
            option = max(param.opts, key=len).lstrip("-")
            param.envvar = "_".join((*path, option)).replace("-", "_").upper()
    for name, sub in getattr(command, "commands", {}).items():
        _name_environment(sub, (*path, name))


def _usage_error(exc: typer.TyperException, path: str | None) -> str:
    message = _reason(" ".join(exc.format_message().split()).rstrip("."))
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return f"{message} (see '{path} --help')" if path is not None else message


def _reason(message: str) -> str:
    """A pydantic message without the prefix it gives a validator's ValueError."""
    return message.replace("Value error, ", "")


def fail(message: str, code: int = 1) -> NoReturn:
    """Exit ``code`` (1; 2 for a command line that does not say what to do) with
    a one-line reason."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code=code)


def warn(message: str) -> None:
    """``warning: <message>`` on stderr, once per command whoever says it
    (a command and the library it calls may both see the same problem)."""
    line = " ".join(message.split())
    if line not in _said:
        _said.add(line)
        typer.echo(f"warning: {line}", err=True)


class _Warnings(logging.Handler):
    """Warnings the library logs while a command works, said as :func:`warn` lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        warn(record.getMessage())


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"bad setting SCIMSRV_{str(first['loc'][0]).upper()}: {_reason(first['msg'])}")


def _database_reason(exc: SQLAlchemyError) -> str:
    # Driver messages span lines and may repeat the SQL; the first line says why.
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"database: {reason[0] if reason else exc.__class__.__name__}"


@contextmanager
def migrated(config: Settings | None = None) -> Iterator[Database]:
    """The configured database at the newest schema; known failures end in one
    line, warnings logged meanwhile in :func:`warn` lines."""
    config = config or settings()
    try:
        db = Database.from_url(config.database_url, lock_timeout=config.lock_timeout)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        fail(f"bad SCIMSRV_DATABASE_URL: {exc}")
    except ImportError as exc:
        fail(f"bad SCIMSRV_DATABASE_URL: its database driver is not installed ({exc.name})")
    handler = _Warnings()
    logging.getLogger().addHandler(handler)
    try:
        schema.upgrade(db.engine)
        yield db
    except ImportRejected as exc:
        for line in exc.report.lines():
            typer.echo(line)
        fail(str(exc))
    except (LicensingError, UnknownToken, AmbiguousToken) as exc:
        fail(str(exc))
    except (ScimError, Busy) as exc:
        fail(exc.detail)
    except SQLAlchemyError as exc:
        fail(_database_reason(exc))
    finally:
        logging.getLogger().removeHandler(handler)
        db.dispose()


def run(
    work: Callable[[Tx], T],
    *,
    tenant: str = "",
    write: bool = True,
    dry_run: bool = False,
    cause: str = "cli",
) -> T:
    """``work`` as the local operator, in one transaction on the migrated
    database; a write appends its audit entry, naming the command."""
    config = settings()
    with migrated(config) as db:
        return Service(db, config).run(
            work,
            caller=LOCAL,
            tenant_id=tenant,
            cause=cause,
            write=write,
            dry_run=dry_run,
            request=RequestInfo(command=command()),
        )


def command() -> str:
    """The command being run, as the audit log names it (``scimsrv rules add``):
    the path of the context typer runs the command in (typer carries its own
    click, whose current context ``typer.main`` hands out)."""
    context = get_current_context(silent=True)
    words = context.command_path.split()[1:] if context is not None else []
    return " ".join(["scimsrv", *words])


def valid_tenant_id(tenant_id: str) -> str:
    if not is_tenant_id(tenant_id):
        fail(
            f"invalid tenant id {tenant_id!r}: use 1-63 lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return tenant_id


def tenant_given(argument: str | None, option: str | None) -> str:
    """The tenant of a command that also still takes the old ``--tenant T``
    spelling (hidden): the argument or the option, not two different ones."""
    if argument and option and argument != option:
        fail(f"two tenants given: {argument!r} and --tenant {option!r}", code=2)
    tenant = argument or option
    if not tenant:
        fail("missing argument 'TENANT'", code=2)
    return tenant


def number(header: str) -> Column:
    """A table column of numbers: right-aligned."""
    return Column(header, justify="right")


# Piped, a row is one line: a cell's lines join with this.
LINES_PIPED = "; "
# Wide enough to measure any table whole (a row is never this long).
_UNBOUNDED = 1_000_000


def print_table(
    columns: Sequence[str | Column],
    rows: Iterable[Sequence[Any]],
    *,
    header: bool = True,
    title: str | None = None,
    fit: bool = False,
) -> None:
    """Rows under a header (unless not ``header``) and ``title``, in aligned
    columns (rich), on stdout: the one way commands print tables.

    A column given as text is left-aligned; give :func:`number` (or any
    :class:`rich.table.Column`) for numbers. Cells are shown as ``str`` of
    the value, never read as rich markup. On a terminal the table fits its
    width, cells wrap and the lines of a cell stack; with
    ``fit`` it spans the width, the columns sharing it by their ``ratio``
    (tables printed one after another then line up). Piped, each row is one
    line, never wrapped nor cut: lines join with :data:`LINES_PIPED`, and
    column widths and ratios are let go.
    """
    console = Console()
    terminal = console.is_terminal
    table = Table(
        box=None,
        pad_edge=False,
        header_style="bold",
        show_header=header,
        title=title,
        expand=fit and terminal,
    )
    for index, column in enumerate(columns):
        given = Column(column) if isinstance(column, str) else column
        # A copy: a Column keeps its cells and place, and callers reuse theirs.
        shown = replace(given, header=Text(str(given.header)), _index=index, _cells=[])
        if not terminal:
            shown = replace(shown, width=None, max_width=None, ratio=None, no_wrap=True)
        table.columns.append(shown)
    for row in rows:
        table.add_row(*(_cell(value, terminal) for value in row))
    if not terminal:  # as wide as the widest row: none wraps
        console.width = _UNBOUNDED
        console.width = max(console.measure(table).maximum, 1)
    with console.capture() as captured:
        console.print(table)
    for line in captured.get().splitlines():
        typer.echo(line.rstrip())


def _cell(value: Any, terminal: bool) -> Text:
    text = "" if value is None else str(value)
    return Text(text if terminal else LINES_PIPED.join(line.strip() for line in text.splitlines()))

"""`fleet`: one command whose subcommands start each part of Inbox Fleet."""

from __future__ import annotations

import atexit
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from loguru import logger
from pydantic import ValidationError
from redis import Redis
from redis.exceptions import RedisError

from cli.redis_server import PrivateRedis
from core.logging import configure_logging
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from core.db import Database
    from core.enums import Role

app = typer.Typer(
    help="Inbox Fleet: browser workers, control plane, sandbox platform and demo.",
    no_args_is_help=True,
    add_completion=False,
    # An operator gets one line saying what is wrong (`main`); `--debug` gives the rest.
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys for operators, admins and workers.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
profile_app = typer.Typer(help="Browser profiles: one file per platform.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
db_app = typer.Typer(help="The control plane's database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
secrets_app = typer.Typer(help="Sealed platform credentials.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
users_app = typer.Typer(help="People who sign in to the console at /console.", no_args_is_help=True)
app.add_typer(users_app, name="users")


_debug = False


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


def _fleet_redis(settings: Settings, command: str, *, ping: bool = True) -> Redis:
    """The fleet's Redis, for a command that works on the workers' queues; exit with one
    line when it is not set (a private Redis would hold jobs no worker reads) or, when
    `ping`, not answering."""
    if not settings.redis_url:
        _fail(f"FLEET_REDIS_URL is not set: `fleet {command}` works on the fleet's Redis")
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    if ping:
        try:
            redis.ping()
        except RedisError as exc:
            _fail(f"FLEET_REDIS_URL: Redis is not answering ({type(exc).__name__}: {exc})")
    return redis


def _fail(message: str) -> NoReturn:
    """Print `error: message` on stderr and exit 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _check_start(settings: Settings) -> None:
    """What a long-running process checks before it starts: every profile loads."""
    from core.platform.profiles import ProfileError, load_profiles

    try:
        load_profiles(settings.profiles_dir)
    except ProfileError as exc:
        _fail(str(exc))


def _settings_with_redis(component: str) -> Settings:
    """Settings whose `redis_url` is set: the configured one, or a private redis-server
    started for this process (and stopped when it exits)."""
    settings = get_settings()
    configure_logging(settings, component)
    if settings.redis_url:
        return settings
    server = PrivateRedis(settings.var_dir / "redis")
    url = server.start()
    atexit.register(server.stop)
    logger.bind(redis_url=url).warning(
        "FLEET_REDIS_URL is not set: started a private redis-server for this process; "
        "point other parts at it with FLEET_REDIS_URL"
    )
    return settings.model_copy(update={"redis_url": url})


def _open_database(settings: Settings) -> Database:
    """The fleet's database, at this release's revision, or exit with one line saying
    what to run."""
    from core.db import Database
    from core.schema import SchemaBehind, require_current

    database = Database(settings.database_url)
    try:
        require_current(database)
    except SchemaBehind as exc:
        database.dispose()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    return database


# How long `fleet api` lets requests finish when told to stop.
GRACEFUL_STOP_S = 5


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Run the control plane (FastAPI) with uvicorn."""
    import uvicorn

    from api.app import create_app
    from core.heap import freeze_startup_objects

    settings = _settings_with_redis("api")
    _check_start(settings)
    _open_database(settings).dispose()
    app = create_app(settings)
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=port or settings.api_port,
        # uvicorn's own lines go through the fleet's logging (configure_logging).
        log_config=None,
        # An open console holds an event stream, which would hold a stop forever.
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker(
    n: Annotated[int, typer.Option("-n", help="Worker processes to run and supervise.")] = 1,
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues, in priority order: send,scrape or ai.")
    ] = "send,scrape",
    burst: Annotated[bool, typer.Option(help="Quit when the queues are empty.")] = False,
) -> None:
    """Run browser workers (send, scrape) or a drafting worker (ai)."""
    if n < 1:
        raise typer.BadParameter("must be at least 1", param_hint="-n")
    settings = _settings_with_redis("worker")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if n > 1:
        from workers.supervisor import supervise

        argv = ["-m", "cli.main", "worker", "-n", "1", "--queues", ",".join(names)]
        if burst:
            argv.append("--burst")
        raise typer.Exit(supervise(argv, n))
    from core.fleet.queues import QueueName
    from workers.errors import ConfigurationError
    from workers.worker import build_worker

    redis = Redis.from_url(settings.redis_url or "")
    _check_start(settings)
    try:
        rq_worker = build_worker(settings, names, redis)
    except ConfigurationError as exc:
        _fail(str(exc))
    if QueueName.ai in names:
        from core.heap import freeze_startup_objects

        # Drafting jobs read and write the database; browser workers never open it.
        _open_database(settings).dispose()
        # Its scheduled campaigns are mass messages, as the control plane's are.
        freeze_startup_objects()
    logger.bind(worker=rq_worker.name, queues=names).info("worker ready")
    rq_worker.work(burst=burst, logging_level=settings.log_level)


@app.command()
def sandbox(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    control: Annotated[
        bool | None, typer.Option(help="Serve the control API (demo and tests only).")
    ] = None,
    skin: Annotated[
        str | None,
        typer.Option(help="fanbox (profile sandbox) or velvet (profile velvet)."),
    ] = None,
) -> None:
    """Run a bundled sandbox platform."""
    from sandbox.config import SandboxConfig
    from sandbox.server import serve

    settings = get_settings()
    configure_logging(settings, "sandbox")
    chosen = skin or settings.sandbox_skin
    if chosen not in ("fanbox", "velvet"):
        raise typer.BadParameter(
            f"unknown skin {chosen!r}; choose fanbox or velvet", param_hint="--skin"
        )
    config = SandboxConfig(
        db_path=settings.sandbox_db,
        skin=chosen,
        time_scale=settings.time_scale,
        control_enabled=settings.sandbox_control if control is None else control,
    )
    serve(config, host or settings.sandbox_host, port or settings.sandbox_port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this release's schema (run before starting a new release)."""
    from core.crypto import keyring
    from core.db import Database
    from core.schema import SchemaBehind, current, upgrade

    settings = get_settings()
    configure_logging(settings, "cli")
    database = Database(settings.database_url)
    try:
        upgrade(database, ring=keyring(settings))
    except (SchemaBehind, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(f"database at revision {current(database)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the one this release needs; exit 1 when behind."""
    from core.db import Database
    from core.schema import current, head

    settings = get_settings()
    configure_logging(settings, "cli")
    database = Database(settings.database_url)
    found, needed = current(database), head()
    database.dispose()
    typer.echo(f"database at {found or 'no revision'}; this release needs {needed}")
    raise typer.Exit(0 if found == needed else 1)


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Seal every account's credentials again under the first of FLEET_SECRET_KEY's keys
    (put the new key first, the old ones after it; drop them once this has run)."""
    from core.crm.accounts import reseal_credentials
    from core.crypto import keyring
    from core.errors import InvalidState

    settings = get_settings()
    configure_logging(settings, "cli")
    database = _open_database(settings)
    try:
        with database.session() as session:
            count = reseal_credentials(session, keyring(settings), actor="cli")
    except (InvalidState, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(f"{count} account(s) sealed under the first key")


def _role(value: str, choices: str) -> Role:
    """`--role` as a role; a usage error naming the `choices` otherwise."""
    from core.enums import Role

    try:
        return Role(value)
    except ValueError:
        raise typer.BadParameter(
            f"unknown role {value!r}; choose {choices}", param_hint="--role"
        ) from None


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, operator or worker.")],
    name: Annotated[str, typer.Option(help="Who or what holds the key.")] = "",
    expires_in_days: Annotated[
        int | None,
        typer.Option(help="Days until the key stops working; default never.", min=1, max=3650),
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from datetime import timedelta

    from core.auth import mint_api_key
    from core.clock import utcnow
    from core.errors import Conflict

    settings = get_settings()
    configure_logging(settings, "cli")
    parsed = _role(role, "admin, operator or worker")
    expires_at = None if expires_in_days is None else utcnow() + timedelta(days=expires_in_days)
    database = _open_database(settings)
    try:
        with database.session() as session:
            minted = mint_api_key(
                session, name or f"{parsed.value}-key", parsed, "cli", expires_at=expires_at
            )
    except Conflict as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    typer.echo(minted.plaintext)


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Option(help="The name the person signs in with.")],
    role: Annotated[str, typer.Option(help="admin or operator.")] = "operator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Create a console user; the password is asked for twice (or read from stdin) and
    only its argon2 hash is stored."""
    import sys

    from core.errors import DomainError
    from core.people import MIN_PASSWORD_CHARS, create_user

    settings = get_settings()
    configure_logging(settings, "cli")
    parsed = _role(role, "admin or operator")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"Password (at least {MIN_PASSWORD_CHARS} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    database = _open_database(settings)
    try:
        with database.session() as session:
            user = create_user(session, name, parsed, password, actor="cli")
    except DomainError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    typer.echo(f"user {user.name} ({user.role.value}) created")


@users_app.command("list")
def users_list() -> None:
    """List console users: name, role, created, and whether disabled (never a password)."""
    from core.people import list_users

    settings = get_settings()
    configure_logging(settings, "cli")
    database = _open_database(settings)
    with database.session() as session:
        for user in list_users(session):
            state = "disabled" if user.disabled_at is not None else "active"
            typer.echo(f"{user.name}\t{user.role.value}\t{user.created_at:%Y-%m-%d %H:%M}\t{state}")
    database.dispose()


@keys_app.command("list")
def keys_list(
    all_: Annotated[bool, typer.Option("--all", help="Show revoked keys too.")] = False,
) -> None:
    """List API keys: id, name, role, prefix, created, expires and revoked (never a key)."""
    from core.auth import list_api_keys

    settings = get_settings()
    configure_logging(settings, "cli")
    database = _open_database(settings)
    rows = [("ID", "NAME", "ROLE", "PREFIX", "CREATED", "EXPIRES", "REVOKED")]
    cursor: str | None = None
    with database.session() as session:
        while True:
            page = list_api_keys(session, include_revoked=all_, limit=200, cursor=cursor)
            rows += [
                (
                    str(key.id),
                    key.name,
                    key.role.value,
                    key.prefix,
                    f"{key.created_at:%Y-%m-%d %H:%M}",
                    "never" if key.expires_at is None else f"{key.expires_at:%Y-%m-%d %H:%M}",
                    "-" if key.revoked_at is None else f"{key.revoked_at:%Y-%m-%d %H:%M}",
                )
                for key in page.items
            ]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    database.dispose()
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (`fleet keys list`).")],
) -> None:
    """Revoke an API key: it stops working at once."""
    from core.auth import revoke_key
    from core.errors import InvalidState, NotFound

    settings = get_settings()
    configure_logging(settings, "cli")
    database = _open_database(settings)
    try:
        with database.session() as session:
            key = revoke_key(session, key_id, actor="cli")
            typer.echo(f"api key {key.id} ({key.name}) revoked")
    except (InvalidState, NotFound) as exc:
        _fail(str(exc))
    finally:
        database.dispose()


@profile_app.command("check")
def profile_check(
    file: Annotated[Path, typer.Argument(help="The profile (TOML) to try.")],
    url: Annotated[str, typer.Option(help="The live site's base URL.")],
    username: Annotated[str, typer.Option(help="The account's sign-in name (or email).")],
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the password (else a prompt).")
    ] = "FLEET_CHECK_PASSWORD",
    rows: Annotated[int, typer.Option(help="Rows and messages to show per page.", min=1)] = 3,
    threads: Annotated[int, typer.Option(help="Threads to open.", min=0)] = 2,
    out: Annotated[
        Path | None, typer.Option(help="Folder for screenshots; default var/profile-check.")
    ] = None,
) -> None:
    """Log in to a live site with a profile, read its inbox and first threads (reading
    only, through the pacer), show what every field read and name every selector that
    matched nothing, with a screenshot. Exits 1 when anything is wrong."""
    import os

    from cli.profile_check import run_check
    from core.platform.profiles import ProfileError, load_profile

    settings = _settings_with_redis("cli")
    try:
        profile = load_profile(file)
    except ProfileError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    password = os.environ.get(password_env) or typer.prompt("Password", hide_input=True)
    report = run_check(
        settings,
        profile,
        url,
        (username, password),
        out or settings.var_dir / "profile-check",
        rows,
        threads,
    )
    for line in report.lines:
        typer.echo(line)
    verdict = (
        f"{len(report.problems)} problem(s)" if report.problems else "every field and selector read"
    )
    typer.echo(f"profile {profile.name} on {url}: {verdict}")
    raise typer.Exit(1 if report.problems else 0)


@app.command()
def sweep(
    account: Annotated[int | None, typer.Option(help="Account id; omit for every account.")] = None,
) -> None:
    """Queue a scrape sweep: one account, or every active one. Exits 1 when Redis is not
    answering or did not take a job."""
    from core.crm.sweeps import trigger_sweeps
    from core.errors import InvalidState, NotFound
    from core.fleet.queues import sweep_job_id
    from core.fleet.rq_repairs import job_exists

    settings = get_settings()
    configure_logging(settings, "cli")
    redis = _fleet_redis(settings, "sweep")
    database = _open_database(settings)
    with database.session() as session:
        try:
            sweeps = trigger_sweeps(session, redis, settings, account_id=account, actor="cli")
        except (InvalidState, NotFound) as exc:
            raise typer.BadParameter(str(exc), param_hint="--account") from exc
        unqueued = [
            row.id for row in sweeps if not job_exists(redis, sweep_job_id(row.id, row.attempt))
        ]
        for row in sweeps:
            if row.id not in unqueued:
                typer.echo(f"sweep {row.id} queued for account {row.account_id}")
    database.dispose()
    if unqueued:
        _fail(
            f"sweep(s) {unqueued} are saved but Redis did not take their jobs; "
            "the reconciler queues them once Redis answers"
        )


@app.command()
def nudge(
    account: Annotated[int | None, typer.Option(help="Account id; omit for every account.")] = None,
    limit: Annotated[
        int | None, typer.Option(help="The most nudges to draft per account.", min=1)
    ] = None,
) -> None:
    """Draft the follow-ups and re-engagements that silent conversations are due (what cron
    runs, e.g. hourly): one account, or every active account with nudges on."""
    from core.drafting.providers import get_drafter
    from core.errors import InvalidState, NotFound
    from core.review.nudges import run_nudges

    settings = get_settings()
    configure_logging(settings, "cli")
    redis = _fleet_redis(settings, "nudge")
    database = _open_database(settings)
    with database.session() as session:
        try:
            drafts = run_nudges(
                session,
                redis,
                settings,
                get_drafter(settings),
                account_id=account,
                actor="cli",
                limit=limit,
            )
        except (InvalidState, NotFound) as exc:
            raise typer.BadParameter(str(exc), param_hint="--account") from exc
        for draft in drafts:
            typer.echo(f"draft {draft.id} ({draft.kind}) for conversation {draft.conversation_id}")
    database.dispose()


@app.command()
def reconcile(
    interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between passes; default FLEET_RECONCILE_INTERVAL_S times the time scale."
        ),
    ] = None,
    once: Annotated[bool, typer.Option(help="Run one pass, print what it did, and exit.")] = False,
) -> None:
    """Restore jobs Redis lost and recover work of dead workers (run one, beside the API)."""
    import signal
    import threading

    from core.recovery.reconcile import interval_s, reconcile, run_reconciler

    settings = get_settings()
    configure_logging(settings, "reconciler")
    if interval is not None and interval <= 0:
        raise typer.BadParameter("must be positive", param_hint="--interval")
    # A running reconciler outlasts a Redis outage (it is what heals the fleet after one);
    # a single pass needs Redis now.
    redis = _fleet_redis(settings, "reconcile", ping=once)
    database = _open_database(settings)
    if once:
        with database.session() as session:
            report = reconcile(session, redis, settings)
        if report.skipped:
            typer.echo("skipped: another reconciler is running a pass")
        else:
            typer.echo(" ".join(f"{name}={count}" for name, count in report.counts().items()))
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    every = interval if interval is not None else interval_s(settings)
    logger.bind(interval_s=every).info("reconciler running")
    run_reconciler(database, redis, settings, every_s=every, stop=stop)
    database.dispose()


@app.command()
def scheduler() -> None:
    """Queue the sweeps each account is due, launch the campaigns whose time has come, and
    run the hourly nudge pass, on RQ's cron: it enqueues a tick of each on the ai queue (the
    drafting worker runs them beside the database) every FLEET_SCHEDULER_TICK_S and a
    nudge pass every FLEET_NUDGE_EVERY_S. No system
    cron: run one scheduler beside the API."""
    from rq.cron import CronScheduler

    from core.fleet.queues import QueueName
    from core.review.jobs import scheduled_campaigns, scheduled_nudges, scheduled_sweeps

    settings = get_settings()
    configure_logging(settings, "scheduler")
    redis = _fleet_redis(settings, "scheduler")
    cron = CronScheduler(connection=redis, logging_level=settings.log_level)
    # RQ's cron counts whole seconds: however small the time scale, at least one.
    tick = max(round(settings.scaled(settings.scheduler_tick_s)), 1)
    every = max(round(settings.scaled(settings.nudge_every_s)), 1)
    # A tick no worker took in time expires rather than pile up behind a stopped worker.
    cron.register(
        scheduled_sweeps,
        QueueName.ai.value,
        interval=tick,
        ttl=max(2 * tick, 10),
        name="fleet-sweeps",
    )
    cron.register(
        scheduled_campaigns,
        QueueName.ai.value,
        interval=tick,
        ttl=max(2 * tick, 10),
        name="fleet-campaigns",
    )
    cron.register(
        scheduled_nudges,
        QueueName.ai.value,
        interval=every,
        ttl=max(every, 10),
        name="fleet-nudges",
    )
    logger.bind(sweep_tick_s=tick, nudge_every_s=every).info("scheduler running")
    cron.start()


@app.command()
def demo(
    time_scale: Annotated[
        float, typer.Option(help="Human-time multiplier for the demo (1 = real human pace).")
    ] = 0.2,
    keep_var: Annotated[bool, typer.Option(help="Keep the demo's state folder.")] = False,
    platform: Annotated[
        str,
        typer.Option(help="The bundled platform to drive: sandbox, velvet, or all (each in turn)."),
    ] = "sandbox",
) -> None:
    """Run the whole loop end to end on embedded defaults and check the result."""
    from cli.demo import PLATFORMS, run_demo

    chosen = list(PLATFORMS) if platform == "all" else [platform]
    unknown = [name for name in chosen if name not in PLATFORMS]
    if unknown:
        raise typer.BadParameter(
            f"unknown platform {unknown[0]!r}; choose {', '.join(PLATFORMS)} or all",
            param_hint="--platform",
        )
    for name in chosen:
        code = run_demo(time_scale=time_scale, keep_var=keep_var, platform=name)
        if code:
            raise typer.Exit(code)


def one_line(exc: BaseException) -> str:
    """An error as one line for an operator: each bad setting by its variable name, or the
    exception's class and first line."""
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return "; ".join(
            f"FLEET_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
    first = next((line for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def main() -> None:
    """Entry point of the `fleet` script: an error ends it with one line and exit code 1,
    or with the whole traceback under `--debug`."""
    try:
        app()
    except Exception as exc:
        if _debug:
            raise
        typer.echo(f"error: {one_line(exc)} (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

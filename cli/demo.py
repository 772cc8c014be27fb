"""`fleet demo`: the whole loop, end to end, on one machine, checked against the sandbox.

It starts Redis (unless `FLEET_REDIS_URL` is set), a bundled sandbox platform
(`--platform` sandbox or velvet), the control plane, a drafting worker, the reconciler and
two browser workers as child processes; seeds a sandbox account with fans and inbound
messages; registers the account over the API under that platform's profile; runs a sweep;
approves every draft as an operator would; waits for delivery; and checks on the sandbox
that each approved text arrived exactly once, intact, typed with a human cadence, and that
nothing was refused or flagged.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from cli.processes import ChildGroup, http_ok, wait_until
from cli.redis_server import PrivateRedis, free_port
from core.logging import configure_logging
from core.platform.typing_plan import graphemes
from core.settings import get_settings
from sandbox.control_client import SandboxControl

# (fan name, inbound messages). About ten messages, emoji and a two-line one among them.
DEMO_FANS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Jake", ("hey gorgeous 😍", "how was your weekend?")),
    ("Mia", ("Loved your last post!!\nThe red dress one 🔥🔥",)),
    ("Sam", ("good morning ☀️", "family day today 👨‍👩‍👧‍👦 what are you up to?")),
    ("Priya", ("you're amazing, thank you for the reply yesterday 💕",)),
    ("Leo", ("first time here 👋", "what kind of content do you post?")),
    ("Noah", ("can't stop thinking about your stream 😅",)),
)
# One operator edit, to show that line breaks and a ZWJ sequence arrive intact.
EDITED_REPLY = "Aww thank you! ☀️\nFamily days are the best 👨‍👩‍👧‍👦 Enjoy yours!"
DEMO_PASSWORD = "demo-password-123"
# The bundled platforms by profile name, and the sandbox skin that serves each.
PLATFORMS = {"sandbox": "fanbox", "velvet": "velvet"}
DEMO_USERNAME = "demo_creator"


class DemoFailed(RuntimeError):
    """The demo saw something wrong; the message says what."""


@dataclass
class Progress:
    """Prints what the demo is doing, with the time since it started."""

    started: float = field(default_factory=time.monotonic)

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Api:
    """The control plane as an operator or admin script sees it."""

    def __init__(self, url: str, key: str) -> None:
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise DemoFailed(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json()

    def close(self) -> None:
        self._http.close()


def _create_keys(database_url: str) -> dict[str, str]:
    from core.auth import create_api_key
    from core.db import Database
    from core.enums import Role
    from core.schema import upgrade

    database = Database(database_url)
    upgrade(database)
    with database.session() as session:
        keys = {role.value: create_api_key(session, f"demo-{role.value}", role) for role in Role}
        session.commit()
    database.dispose()
    return keys


def _seed_sandbox(control: SandboxControl) -> tuple[str, int, int]:
    """Seed the demo account; its sign-in name on the platform, fans and messages."""
    login = control.create_account(DEMO_USERNAME, DEMO_PASSWORD, "Demo Creator").login
    messages = 0
    for name, texts in DEMO_FANS:
        fan = control.create_fan(DEMO_USERNAME, name)
        for text in texts:
            control.inbound(DEMO_USERNAME, fan, text)
            messages += 1
    return login, len(DEMO_FANS), messages


def _poll(what: str, fetch: Any, done: Any, timeout_s: float, children: ChildGroup) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if done(value):
            return value
        children.check_alive()
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)


def _human_cadence(cadence: list[Any], text_graphemes: int) -> str | None:
    """Why a delivered message's cadence does not look typed by a person, or None."""
    inserts = [event for event in cadence if event.graphemes > 0]
    if len(inserts) < text_graphemes:
        return f"{len(inserts)} input events for {text_graphemes} graphemes"
    gaps = [b.t_ms - a.t_ms for a, b in zip(inserts, inserts[1:], strict=False)]
    if gaps and min(gaps) < 0:
        return "input events out of order"
    return None


def run_demo(time_scale: float, keep_var: bool, platform: str = "sandbox") -> int:
    """Run the demo on a bundled `platform` (a profile name in `PLATFORMS`); print one
    `demo ok: ...` line and return 0, or say what failed."""
    progress = Progress()
    base = get_settings()
    # The demo speaks through its progress lines; each child logs to its own file.
    configure_logging(base.model_copy(update={"log_level": "WARNING"}), "demo")
    var_dir = (base.var_dir / f"demo-{os.getpid()}").resolve()
    children = ChildGroup(var_dir / "logs")
    private_redis: PrivateRedis | None = None
    try:
        redis_url = base.redis_url
        if not redis_url:
            private_redis = PrivateRedis(var_dir / "redis")
            redis_url = private_redis.start()
            progress(f"started a private redis-server at {redis_url}")
        database_url = f"sqlite:///{var_dir / 'fleet.db'}"
        keys = _create_keys(database_url)
        api_port, sandbox_port = free_port(), free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = {
            **os.environ,
            "FLEET_DATABASE_URL": database_url,
            "FLEET_REDIS_URL": redis_url,
            "FLEET_TIME_SCALE": str(time_scale),
            "FLEET_API_URL": api_url,
            "FLEET_API_PORT": str(api_port),
            "FLEET_SANDBOX_PORT": str(sandbox_port),
            "FLEET_SANDBOX_DB": str(var_dir / "sandbox.db"),
            "FLEET_SANDBOX_CONTROL": "true",
            "FLEET_SANDBOX_SKIN": PLATFORMS[platform],
            "FLEET_WORKER_TOKEN": keys["worker"],
            "FLEET_VAR_DIR": str(var_dir),
            "FLEET_PROFILES_DIR": str(base.profiles_dir.resolve()),
        }
        children.start("sandbox", ["-m", "cli.main", "sandbox"], env)
        children.start("api", ["-m", "cli.main", "api"], env)
        children.start("ai-worker", ["-m", "cli.main", "worker", "--queues", "ai"], env)
        children.start("reconciler", ["-m", "cli.main", "reconcile"], env)
        for index in (1, 2):
            children.start(
                f"worker-{index}", ["-m", "cli.main", "worker", "--queues", "send,scrape"], env
            )
        wait_until(http_ok(f"{sandbox_url}/"), 30, "the sandbox", children.check_alive)
        wait_until(http_ok(f"{api_url}/health"), 30, "the control plane", children.check_alive)
        progress(
            f"sandbox platform {platform} at {sandbox_url}, control plane at {api_url}, "
            "a drafting worker, a reconciler and 2 browser workers"
        )

        control = SandboxControl(sandbox_url)
        login, fans, inbound = _seed_sandbox(control)
        progress(f"seeded sandbox account {DEMO_USERNAME}: {fans} fans, {inbound} messages")

        admin, operator = Api(api_url, keys["admin"]), Api(api_url, keys["operator"])
        account = admin.call(
            "POST",
            "/v1/accounts",
            json={
                "name": "Demo Creator",
                "profile": platform,
                "base_url": sandbox_url,
                "username": login,
                "password": DEMO_PASSWORD,
                "persona": {"name": "Demo", "tone": "warm", "emoji_style": "some"},
            },
        )
        progress(f"registered account {account['id']} over the API")

        [sweep] = operator.call("POST", "/v1/sweeps", json={"account_id": account["id"]})
        sweep_id = sweep["id"]
        progress(f"sweep {sweep_id} queued; a worker is reading the inbox in Chromium")
        finished = _poll(
            f"sweep {sweep_id}",
            lambda: operator.call("GET", f"/v1/sweeps/{sweep_id}"),
            lambda s: s["status"] in ("done", "failed"),
            90,
            children,
        )
        if finished["status"] != "done":
            raise DemoFailed(f"sweep {sweep_id} failed: {finished.get('error')}")
        scraped = int(finished["messages_found"])
        progress(f"sweep done: {scraped} messages from {finished['conversations_read']} chats")

        drafts = _poll(
            f"{fans} drafts",
            lambda: operator.call("GET", "/v1/drafts", params={"status": "pending", "limit": 100})[
                "items"
            ],
            lambda items: len(items) >= fans,
            60,
            children,
        )
        progress(f"{len(drafts)} drafts waiting for approval (provider=offline)")

        approved: list[str] = []
        sends: list[int] = []
        for index, draft in enumerate(drafts):
            edit = EDITED_REPLY if index == 0 else None
            body = {"text": edit} if edit else {}
            approval = operator.call("POST", f"/v1/drafts/{draft['id']}/approve", json=body)
            approved.append(edit or draft["text"])
            sends.append(int(approval["send"]["id"]))
        progress(f"approved {len(approved)} drafts (one edited); workers are typing them")

        def delivered_count() -> int:
            states = [operator.call("GET", f"/v1/sends/{sid}")["status"] for sid in sends]
            if "failed" in states:
                raise DemoFailed(f"a send failed: {states}")
            return states.count("delivered")

        last = -1

        def all_delivered(count: int) -> bool:
            nonlocal last
            if count != last:
                progress(f"{count}/{len(sends)} sends delivered")
                last = count
            return count == len(sends)

        _poll("delivery", delivered_count, all_delivered, 120, children)

        delivered = control.delivered(DEMO_USERNAME)
        problems: list[str] = []
        for text in approved:
            copies = [m for m in delivered if m.text == text]
            if len(copies) != 1:
                problems.append(f"a reply arrived {len(copies)} times instead of once")
                continue
            why = _human_cadence(copies[0].cadence, len(graphemes(text)))
            if why:
                problems.append(f"message {copies[0].message_id} not typed like a person: {why}")
        if len(delivered) != len(approved):
            problems.append(f"{len(delivered)} messages on the platform, {len(approved)} approved")
        flags, refusals = control.flags(DEMO_USERNAME), control.refusals(DEMO_USERNAME)
        if flags:
            problems.append(f"the platform flagged {len(flags)} messages: {flags[0].reason}")
        if refusals:
            problems.append(f"the platform refused {len(refusals)} sends: {refusals[0].reason}")
        if problems:
            raise DemoFailed("; ".join(problems))
        admin.close()
        operator.close()
        print(
            f"demo ok on {platform}: {scraped} messages scraped, {len(drafts)} drafts, "
            f"{len(delivered)} sends delivered in {progress.elapsed:.1f}s",
            flush=True,
        )
        return 0
    except KeyboardInterrupt:
        print("demo interrupted; stopping its processes", flush=True)
        return 130
    except (DemoFailed, RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        print(f"demo FAILED after {progress.elapsed:.1f}s: {exc}", flush=True)
        print(f"logs of every process are in {children.log_dir}", flush=True)
        keep_var = True
        return 1
    finally:
        children.stop()
        if private_redis is not None:
            private_redis.stop()
        if not keep_var:
            shutil.rmtree(var_dir, ignore_errors=True)

"""`GET /health`: the only route without a key, for load balancers and ops."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from loguru import logger
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import DatabaseDep, RedisDep, SettingsDep
from api.schemas.health import AiBudget, Check, Health, HeldAccount, Workers
from core import ai_budget
from core.models import Account, AccountStatus
from core.queues import queue_depths

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(
    database: DatabaseDep, redis: RedisDep, settings: SettingsDep, response: Response
) -> Health:
    """Database and Redis reachability, queue depths, live RQ workers, the accounts whose
    jobs are held for an operator (paused, needing a login), and the daily LLM token caps
    holding drafting on the offline drafter, with their figures; 503 when the database or
    Redis is down."""
    held: list[HeldAccount] = []
    budget: AiBudget | None = None
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
            held = [
                HeldAccount(id=account.id, name=account.name, status=account.status.value)
                for account in session.scalars(
                    select(Account).where(Account.status != AccountStatus.active)
                )
            ]
            budget = AiBudget.of(ai_budget.status(session, settings))
        db_check = Check(ok=True)
    except SQLAlchemyError as exc:
        db_check = Check(ok=False, error=type(exc).__name__)
    queues: dict[str, int] = {}
    names: list[str] = []
    try:
        redis.ping()
        queues = queue_depths(redis)
        names = sorted(worker.name for worker in Worker.all(connection=redis))
        redis_check = Check(ok=True)
    except RedisError as exc:
        redis_check = Check(ok=False, error=type(exc).__name__)
    healthy = db_check.ok and redis_check.ok
    if not healthy:
        logger.bind(database=db_check.error, redis=redis_check.error).warning("degraded")
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(
        status="ok" if healthy else "degraded",
        database=db_check,
        redis=redis_check,
        queues=queues,
        workers=Workers(count=len(names), names=names),
        held_accounts=held,
        ai_budget=budget,
    )

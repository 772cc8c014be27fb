"""`GET /health`: the only route without a key, for load balancers and ops."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import DatabaseDep, RedisDep, SettingsDep
from api.schemas.health import Health
from core.recovery.health import service_health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "A part is down; the body says which."}},
)
def health(
    database: DatabaseDep, redis: RedisDep, settings: SettingsDep, response: Response
) -> Health:
    """Database and Redis reachability, queue depths, live RQ workers, the accounts whose
    jobs are held for an operator (paused, needing a login), and the daily LLM token caps
    holding drafting on the offline drafter, with their figures; 503 when the database or
    Redis is down."""
    report = service_health(database, redis, settings)
    if not report.healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health.of(report)

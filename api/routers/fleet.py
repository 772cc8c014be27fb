"""`/v1/fleet` and `/v1/workers`: whether the fleet is healthy, and who drives what."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from redis.exceptions import RedisError

from api.deps import RedisDep, SessionDep, SettingsDep, StaffDep
from api.schemas.fleet import FleetOut, WorkersOut
from core.fleet.heartbeats import live_workers
from core.fleet.lease import held_accounts
from core.recovery.health import fleet_status

router = APIRouter(prefix="/v1", tags=["fleet"])


@router.get("/fleet", response_model=FleetOut)
def get_fleet(
    session: SessionDep, redis: RedisDep, settings: SettingsDep, _principal: StaffDep
) -> FleetOut:
    """Workers, leased accounts, queue depths and waits, sends by status, and `healthy`
    with the reasons it is not; 503 when Redis cannot be read."""
    try:
        return FleetOut.of(fleet_status(session, redis, settings))
    except RedisError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"redis unreachable: {type(exc).__name__}"
        ) from exc


@router.get("/workers", response_model=WorkersOut)
def get_workers(redis: RedisDep, settings: SettingsDep, _principal: StaffDep) -> WorkersOut:
    """Workers with a current heartbeat and the accounts each one leases."""
    return WorkersOut.of(
        live_workers(redis, settings), held_accounts(redis, settings.redis_key_prefix)
    )

"""Master -> HTTP scheduler: the v1 ``scheduler::Event`` for each message, RecordIO-framed.

The master's handlers send the same messages to every framework (``FrameworkRegistered``,
``ResourceOffers``, ``StatusUpdate``...); for a framework subscribed through
``/api/v1/scheduler`` the ``link`` turns each into an ``Event`` here (pure functions, no
I/O) and writes ``record(event)`` to the framework's stream. Shapes follow Mesos'
``include/mesos/v1/scheduler/scheduler.proto``; records are ``actors.messages.v1json``'s.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from actors.messages.agent import StatusUpdate
from actors.messages.framework import (
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkError,
    FrameworkRegistered,
    FrameworkReregistered,
    LostAgent,
    RescindInverseOffer,
    RescindResourceOffer,
    ResourceOffers,
)
from actors.messages.v1json import to_v1

__all__ = ["HEARTBEAT", "event_for", "record", "subscribed"]

HEARTBEAT: dict[str, Any] = {"type": "HEARTBEAT"}


def record(event: dict[str, Any]) -> bytes:
    """One RecordIO record: ``<decimal length>\\n<json>`` (Mesos' ``recordio::encode``)."""
    data = json.dumps(event, separators=(",", ":")).encode()
    return b"%d\n%s" % (len(data), data)


def subscribed(msg: FrameworkRegistered | FrameworkReregistered,
               heartbeat_interval: float) -> dict[str, Any]:
    return {"type": "SUBSCRIBED", "subscribed": {
        "framework_id": {"value": msg.framework_id},
        "heartbeat_interval_seconds": heartbeat_interval,
        "master_info": to_v1(msg.master_info)}}


def _update(msg: StatusUpdate) -> dict[str, Any]:
    update = msg.update
    status = to_v1(update.status)
    # The framework acknowledges what it holds: complete the status as the driver does.
    if update.uuid and "uuid" not in status:
        status["uuid"] = base64.b64encode(update.uuid).decode("ascii")
    if update.agent_id and "agent_id" not in status:
        status["agent_id"] = {"value": update.agent_id}
    if update.executor_id and "executor_id" not in status:
        status["executor_id"] = {"value": update.executor_id}
    return {"type": "UPDATE", "update": {"status": status}}


def event_for(msg: Any, heartbeat_interval: float) -> dict[str, Any] | None:
    """The Event a framework message becomes; ``None`` for one with no v1 form."""
    if isinstance(msg, FrameworkRegistered | FrameworkReregistered):
        return subscribed(msg, heartbeat_interval)
    if isinstance(msg, ResourceOffers):
        if msg.inverse_offers and not msg.offers:  # the master sends them alone
            return {"type": "INVERSE_OFFERS", "inverse_offers": {
                "inverse_offers": [to_v1(i) for i in msg.inverse_offers]}}
        return {"type": "OFFERS", "offers": {"offers": [to_v1(o) for o in msg.offers]}}
    if isinstance(msg, RescindInverseOffer):
        return {"type": "RESCIND_INVERSE_OFFER", "rescind_inverse_offer": {
            "inverse_offer_id": {"value": msg.inverse_offer_id}}}
    if isinstance(msg, RescindResourceOffer):
        return {"type": "RESCIND", "rescind": {"offer_id": {"value": msg.offer_id}}}
    if isinstance(msg, StatusUpdate):
        return _update(msg)
    if isinstance(msg, ExecutorToFramework):
        return {"type": "MESSAGE", "message": {
            "agent_id": {"value": msg.agent_id}, "executor_id": {"value": msg.executor_id},
            "data": base64.b64encode(msg.data).decode("ascii")}}
    if isinstance(msg, ExitedExecutor):
        return {"type": "FAILURE", "failure": {
            "agent_id": {"value": msg.agent_id}, "executor_id": {"value": msg.executor_id},
            "status": msg.status}}
    if isinstance(msg, LostAgent):
        return {"type": "FAILURE", "failure": {"agent_id": {"value": msg.agent_id}}}
    if isinstance(msg, FrameworkError):
        return {"type": "ERROR", "error": {"message": msg.message}}
    return None

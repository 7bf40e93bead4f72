"""What is happening now: the live feed (EventHub) and the registries the runner feeds (cameras, windows, metrics)."""
from monitor_api.live.guard import SubscriberGuard
from monitor_api.live.hub import RECHECK_INTERVAL_S, EventHub, Subscription
from monitor_api.live.state import CameraStatus, LiveState, WindowLive

__all__ = ["RECHECK_INTERVAL_S", "CameraStatus", "EventHub", "LiveState", "SubscriberGuard", "Subscription",
           "WindowLive"]

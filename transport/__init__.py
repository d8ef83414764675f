"""A generic actor runtime in the libprocess tradition, on Pykka and ZeroMQ.

``PID`` names a process (``name@host:port``); ``Node`` is one OS process's endpoint;
``Process`` is the actor base class with a handler table (``@handles``); ``message`` /
``record`` declare wire types; ``Clock`` / ``ManualClock`` inject time. This package
knows nothing of clusters: ``actors`` builds the cluster manager on it.
"""

from transport.clock import Clock, ManualClock, RealClock, Timer
from transport.codec import message, record, register_value_type
from transport.errors import MesetaError
from transport.http import HttpPending, HttpRequest, HttpResponse, HttpStream
from transport.node import Node
from transport.pid import PID
from transport.process import Process, handles

__all__ = [
    "PID",
    "Clock",
    "HttpPending",
    "HttpRequest",
    "HttpResponse",
    "HttpStream",
    "ManualClock",
    "MesetaError",
    "Node",
    "Process",
    "RealClock",
    "Timer",
    "handles",
    "message",
    "record",
    "register_value_type",
]

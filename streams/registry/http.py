"""The registry's HTTP server, for other parts of the platform that serve HTTP (the web catalog).

One server, with one set of limits, timeouts and back-pressure (:class:`HttpLimits`), instead of
a second one to keep safe: an application gives :class:`HttpServer` a handler from
:class:`Request` to :class:`Response` and turns registry content negotiation off
(``negotiate=False``) when its responses name their own content type.
"""

from __future__ import annotations

from streams.registry._http import HttpServer
from streams.registry._limits import HttpLimits
from streams.registry._wire import Handler, Request, Response

__all__ = ["Handler", "HttpLimits", "HttpServer", "Request", "Response"]

"""The aiohttp application: routes, and the one middleware that turns errors into XRPC bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from . import admin, handlers, mod_events, mod_stream, xrpc
from .errors import XrpcError
from .exposure import holds_admin_token
from .recording import call_line
from .service import SERVICE_KEY, Config, Service

log = logging.getLogger("mockserver")

assert handlers  # imported for its side effect: every XRPC handler is registered

_HTTP_ERRORS = {
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
}


CORS_HEADERS = "authorization, content-type, atproto-proxy, atproto-accept-labelers"


@web.middleware
async def serve(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one middleware: CORS for the allowed origins (preflights included), and every failure
    answered as ``{"error", "message"}`` (real bugs logged, never a traceback sent)."""
    origins = request.app[SERVICE_KEY].config.cors_origins
    origin = request.headers.get("Origin")
    allowed = origin is not None and ("*" in origins or origin in origins)
    if request.method == "OPTIONS" and origin and request.headers.get("Access-Control-Request-Method"):
        if not allowed:
            return xrpc.json_response({"error": "Forbidden", "message": f"Origin {origin} is not allowed"}, 403)
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        try:
            response = await _dispatch(request, handler)
        except XrpcError as e:
            response = xrpc.json_response(e.body(), status=e.status)
            if isinstance(e, xrpc.UnreadableBody):
                response.force_close()
        except xrpc.DropConnection:
            if request.transport is not None:
                request.transport.abort()
            log.info("fault: dropped the connection of %s %s", request.method, request.path)
            return web.Response(status=499)  # never sent: the connection is gone
        except xrpc.ClientGone as e:
            log.info("%s", e)
            return web.Response(status=499)  # never sent: the client is gone
        except web.HTTPException as e:
            if e.status < 400:
                raise
            response = _http_error(request, e)
        except Exception:
            log.exception("internal error serving %s %s", request.method, request.path_qs)
            body = {"error": "InternalServerError", "message": "Internal Server Error"}
            response = xrpc.json_response(body, status=500)
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else str(origin)
        response.headers["Access-Control-Expose-Headers"] = "content-type"
        if "*" not in origins:
            response.headers["Vary"] = "Origin"
    return response


def _http_error(request: web.Request, e: web.HTTPException) -> web.Response:
    """aiohttp's own 4xx (no route, wrong method, body too large) as an XRPC error body."""
    name = _HTTP_ERRORS.get(e.status, "InvalidRequest")
    message = f"{e.reason}: {request.method} {request.path}"
    if e.status == 413:
        message = f"Request body is over the limit of {request.app[SERVICE_KEY].config.max_body} bytes"
    return xrpc.json_response({"error": name, "message": message}, status=e.status)


def _check_admin_token(request: web.Request) -> None:
    """With an admin token configured, admin calls must carry it (the state page itself need not)."""
    token = request.app[SERVICE_KEY].config.admin_token
    guarded = bool(token) and request.path.startswith("/_mock/") and request.path != "/_mock/"
    if guarded and not holds_admin_token(request.headers.get("Authorization"), token):
        raise XrpcError("AuthenticationRequired", "The admin API needs 'Authorization: Bearer <admin token>'", 401)


async def _dispatch(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run a handler; any request but a read may change the state, so cached reads are dropped
    before and after it."""
    _check_admin_token(request)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return await handler(request)
    service = request.app[SERVICE_KEY]
    service.touch()
    try:
        return await handler(request)
    finally:
        service.touch()


async def _xrpc_route(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE_KEY]
    repeated = xrpc.repeat(request, service) if request.method == "GET" else None
    if repeated is not None:  # the same query, sent the same way, nothing changed since
        response, done = repeated
        _keep(service, done)
        return response
    record = True
    entry: dict[str, Any] = {
        "time": None,  # the time the call ran at (a handler's frozen time); filled in below if it did not run
        "actor": None,
        "method": request.match_info["nsid"],
        "params": None,  # the decoded parameters; the query as sent if the call stops before them
        "input": None,
    }
    try:
        response = await xrpc.handle(request, service, entry)
    except XrpcError as e:
        entry.update(status=e.status, error=e.error, message=e.message, output=None)
        raise
    except xrpc.DropConnection:
        entry.update(status=0, error="ConnectionDropped", message="the connection was dropped by a fault", output=None)
        raise
    except xrpc.ClientGone:
        record = False  # no call was made
        raise
    except Exception:
        entry.update(status=500, error="InternalServerError", message="Internal Server Error", output=None)
        raise
    else:
        entry.update(status=response.status, error=None, message=None)
        return response
    finally:
        if record:
            if entry["params"] is None:
                entry["params"] = query_as_sent(request)
            if entry["time"] is None:
                entry["time"] = service.clock.iso()
            _keep(service, entry, entry.pop(xrpc.BODY_BYTES, 0))  # body bytes: counted only when the input is kept


def _keep(service: Service, entry: dict[str, Any], body_bytes: int = 0) -> None:
    """Journal a finished call and hand it to the recorders."""
    recorded = service.journal.record(entry, body_bytes=body_bytes)
    if service.recorders:
        service.emit(call_line(service.journal.public(recorded)))


def query_as_sent(request: web.Request) -> dict[str, Any]:
    """The query string as parameters, a repeated one as the list of its values (so a replay
    sends it repeated again); replaced by the decoded parameters once they pass the lexicon."""
    out: dict[str, Any] = {}
    for name in request.query:
        if name not in out:
            values = request.query.getall(name)
            out[name] = values if len(values) > 1 else values[0]
    return out


FrontHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def front(app: web.Application) -> FrontHandler:
    """The server's handler of every request: a call of a served XRPC method goes straight to the
    one middleware and its route, as aiohttp's router would send it, without looking the path up
    among the routes (about a fifth of a small request's cost); anything else goes to the app.
    Set on a running server by ``protocol.use_xrpc_errors``; the app alone behaves the same."""
    route = next(r for r in app.router.routes() if r.handler is _xrpc_route)
    matches: dict[str, UrlMappingMatchInfo] = {}
    for nsid in xrpc.METHODS:  # a fixed set: one shared, frozen match a method
        match = UrlMappingMatchInfo({"nsid": nsid}, route)
        match.add_app(app)
        match.freeze()
        matches[nsid] = match
    handle = app._handle

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith("/xrpc/"):
            match = matches.get(path[6:])
            if match is not None and hdrs.EXPECT not in request.headers:  # aiohttp answers 100-continue
                assert isinstance(request, web.Request)
                request._match_info = match
                return await serve(request, _xrpc_route)
        return await handle(request)  # type: ignore[arg-type]

    return dispatch


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def create_app(config: Config | None = None, **settings: Any) -> web.Application:
    """A ready aiohttp application serving the mock (settings as in :class:`Config`)."""
    service = Service(config or Config(**settings))
    # the body limit is enforced per request (413 PayloadTooLarge); aiohttp's own is a backstop
    app = web.Application(middlewares=[serve], client_max_size=service.config.max_body + 1)
    app[SERVICE_KEY] = service
    app.router.add_get("/xrpc/" + mod_events.NSID, mod_stream.subscribe)  # before the route of every other method
    app.router.add_route("*", "/xrpc/{nsid}", _xrpc_route)
    app.router.add_get("/favicon.ico", _no_icon)
    if service.config.admin:
        admin.add_routes(app)
    if service.config.plc_url:
        from .network import Network

        config = service.config
        assert config.plc_url is not None
        service.network = Network(service, config.plc_url, config.service_did, config.service_url)
        app.router.add_get("/.well-known/did.json", _did_document)
        app.on_cleanup.append(_close_network)
    return app


async def _did_document(request: web.Request) -> web.Response:
    """Chat service mode: the mock's DID document, as a PDS resolves it to forward chat calls."""
    network = request.app[SERVICE_KEY].network
    assert network is not None
    return xrpc.json_response(network.did_document())


async def _close_network(app: web.Application) -> None:
    network = app[SERVICE_KEY].network
    if network is not None:
        await network.close()

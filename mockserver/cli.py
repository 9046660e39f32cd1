"""The ``bsky-chat-mock`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import signal
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiohttp

from scenarios.loader import load as load_scenario
from scenarios.model import ScenarioError, builtin_names, check, find

from . import __version__, collector
from .exposure import addresses_for, loopback_host
from .recording import FileRecorder, is_recording
from .recording import read as read_recording
from .replay import replay, replay_async
from .server import MockChatServer
from .service import DEFAULT_MEMBER_LIMIT, Config
from .snapshot import fetch_snapshot
from .transcript import render as render_transcript

DEFAULT_PORT = 2584


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _base_url(url: str) -> str:
    """A mock's base URL as given, with ``http://`` added when it has no scheme (``127.0.0.1:2584``)."""
    url = url.strip()
    return url if "://" in url else f"http://{url}"


def _seed(text: str) -> int:
    from .ids import SEED_MAX

    if not text.isascii() or not text.isdigit() or int(text) >= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {SEED_MAX - 1}, got {text!r}")
    return int(text)


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _token(text: str) -> str:
    if not text.strip() or text != text.strip() or " " in text:
        raise argparse.ArgumentTypeError("must be a non-empty token without spaces")
    return text


def _did(text: str) -> str:
    if not re.fullmatch(r"did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]", text):
        raise argparse.ArgumentTypeError(f"must be a DID such as did:web:localhost%3A2584, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per action."""
    parser = argparse.ArgumentParser(
        prog="bsky-chat-mock",
        description="A stateful, in-memory fake of Bluesky's group chat XRPC API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the mock server until interrupted",
        description="Run the mock server until Ctrl-C or SIGTERM. Prints one line, "
        "'bsky-chat-mock listening on http://HOST:PORT', once it accepts connections; "
        "request logs go to stderr.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    serve.add_argument(
        "--seed", type=_seed, default=None, help="seed for ids, handles and names, 0 to 2^63 - 1 (default: random)"
    )
    serve.add_argument(
        "--member-limit",
        type=_positive,
        default=DEFAULT_MEMBER_LIMIT,
        help="most members a group may have, owner included (default: %(default)s)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="check every response against its lexicon (a bad one is a 500)",
    )
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level",
    )
    start = serve.add_mutually_exclusive_group()
    start.add_argument(
        "--scenario",
        default="demo",
        metavar="NAME|PATH",
        help="built-in scenario name or scenario file to start from (default: %(default)s)",
    )
    start.add_argument("--empty", action="store_true", help="start with an empty state instead of a scenario")
    serve.add_argument("--no-admin", action="store_true", help="do not serve the admin API under /_mock/")
    serve.add_argument("--record", metavar="PATH", help="append every call to PATH as JSON lines (a recording)")
    serve.add_argument(
        "--admin-token",
        type=_token,
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on admin calls (bound off loopback without it: one is made "
        "up and printed)",
    )
    serve.add_argument(
        "--deterministic-tokens",
        action="store_true",
        help="derive the session-token secret from --seed, so runs give the same tokens (default: random per run; "
        "anyone who knows the seed can then make tokens)",
    )
    serve.add_argument(
        "--moderator",
        action="append",
        type=_did,
        metavar="DID",
        help="may call chat.bsky.moderation.* (an account logged in to the mock, or in chat service mode the "
        "service DID of a moderation tool such as Ozone); repeatable. The admin token always may",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow browser calls from ORIGIN (repeatable; default: any origin on loopback, none but the "
        "state page's own off it)",
    )
    pds = serve.add_argument_group(
        "chat service mode", "serve as the chat service of a real PDS (docs/pds.md): --plc-url turns it on"
    )
    pds.add_argument(
        "--plc-url",
        type=_http_url,
        metavar="URL",
        help="PLC directory to resolve callers' DIDs with; accept service-auth JWTs forwarded by a PDS",
    )
    pds.add_argument(
        "--service-did",
        type=_did,
        metavar="DID",
        help="the mock's service DID, the 'aud' of the tokens it accepts (default: did:web:localhost%%3APORT)",
    )
    pds.add_argument(
        "--service-url",
        type=_http_url,
        metavar="URL",
        help="the endpoint its DID document names (default: from a did:web DID, http for localhost)",
    )
    commands.add_parser("scenarios", help="list the built-in scenarios with their descriptions")
    commands.add_parser("methods", help="list the XRPC methods served, and the chat.bsky methods that are not")
    check = commands.add_parser("check", help="check a scenario file and say what is wrong with it")
    check.add_argument("file", help="a scenario file (YAML or JSON)")
    replay = commands.add_parser(
        "replay",
        help="run a recording's calls again against a running mock; stop at the first difference",
    )
    replay.add_argument("file", help="a recording (JSON lines, from serve --record or --chat-mock-record)")
    replay.add_argument("--url", required=True, help="base URL of the running mock, e.g. http://127.0.0.1:2584")
    replay.add_argument("--admin-token", metavar="TOKEN", help="the mock's admin token, if it has one")
    transcript = commands.add_parser("transcript", help="render a recording as a Markdown account, group by group")
    transcript.add_argument("file", help="a recording (JSON lines)")
    snapshot = commands.add_parser(
        "snapshot", help="print the running mock's state as a scenario file (YAML) that loads back exactly"
    )
    snapshot.add_argument("--url", required=True, help="base URL of the running mock")
    snapshot.add_argument("--admin-token", metavar="TOKEN", help="the mock's admin token, if it has one")
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    log = logging.getLogger("mockserver")
    on_network = not loopback_host(args.host)
    admin_token = args.admin_token
    made_token = on_network and not args.no_admin and admin_token is None
    if made_token:  # reachable from a network: the admin API is nobody's without it
        admin_token = secrets.token_urlsafe(24)
    origins = tuple(args.cors_origin or (["*"] if not on_network else []))
    if on_network and not args.cors_origin:
        log.info("on a network: browsers on other origins are refused; allow one with --cors-origin ORIGIN")
    config = Config(
        seed=args.seed,
        strict=args.strict,
        member_limit=args.member_limit,
        admin=not args.no_admin,
        admin_token=admin_token,
        deterministic_tokens=args.deterministic_tokens,
        cors_origins=origins,
        moderators=tuple(args.moderator or ()),
        plc_url=args.plc_url,
        service_did=args.service_did,
        service_url=args.service_url,
    )
    # one line per request, as people read it, batched onto stderr (access_log.py); quiet above INFO
    stream = sys.stderr if logging.getLogger("mockserver.access").isEnabledFor(logging.INFO) else None
    server = MockChatServer(args.host, args.port, config=config, access_stream=stream)
    recording = not args.empty and is_recording(args.scenario)
    if recording and args.no_admin:
        raise ScenarioError(args.scenario, ["replaying a recording needs the admin API: drop --no-admin"])
    if args.record:
        recorder = FileRecorder(args.record)
        server.service.recorders.append(recorder)
        log.info("recording every call to %s", args.record)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start_async()  # the port first: a busy one is said at once, before any scenario work
    idle: asyncio.Task[None] | None = None
    try:
        if not args.empty and not recording:
            loaded = load_scenario(server.service, find(args.scenario))
            log.info("scenario %s: %d actors, %d groups", loaded.name, len(loaded.actors), len(loaded.convos))
        elif args.record:
            server.service.started()
        if recording:
            report = await replay_async(server.url, read_recording(args.scenario), admin_token)
            log.info("recording %s: %s", args.scenario, report.text())
            if not report.ok:
                raise ScenarioError(args.scenario, [report.text()])
        collector.settle()  # short collector passes under load, a full one when quiet (collector.py)
        idle = asyncio.create_task(collector.collect_when_idle(lambda: server.service.version))
        print(f"bsky-chat-mock listening on {server.url}", flush=True)
        if made_token:  # said once, here: it is in no log
            print(f"admin token (every /_mock/ call needs it): {admin_token}", flush=True)
            for host in addresses_for(args.host):  # an "every address" bind: where others reach it
                shown = f"[{host}]" if ":" in host else host
                print(f"state page: http://{shown}:{server.port}/_mock/?token={admin_token}", flush=True)
        elif not args.no_admin:
            log.info("state page: %s/_mock/", server.url)
        network = server.service.network
        if network is not None:
            log.info("chat service mode: %s at %s (DIDs resolved by %s)", network.did, network.url, args.plc_url)
        await stop.wait()
    finally:
        if idle is not None:
            idle.cancel()
        await server.stop_async()
        logging.getLogger("mockserver").info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m mockserver``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.deterministic_tokens and args.seed is None:
            parser.error("--deterministic-tokens derives the token secret from the seed: give --seed too")
        if (args.service_did or args.service_url) and not args.plc_url:
            parser.error("--service-did and --service-url belong to chat service mode: give --plc-url too")
        if args.service_did and not args.service_did.startswith("did:web:") and not args.service_url:
            parser.error(f"{args.service_did} is not a did:web DID: give --service-url, the URL it is served at")
        logging.basicConfig(
            stream=sys.stderr,
            level=args.log_level,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
        try:
            asyncio.run(serve(args))
        except ScenarioError as e:
            print(f"bsky-chat-mock: {e}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"bsky-chat-mock: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
            return 1
    elif args.command == "scenarios":
        for name in builtin_names():
            description = " ".join(str(find(name).spec.get("description", "")).split())
            print(f"{name:20} {description}")
    elif args.command == "methods":
        from . import handlers
        from .lexicons import bundled
        from .xrpc import served_methods

        assert handlers  # imported for its side effect: every handler is registered
        methods = served_methods(bundled())
        print("served:")
        print("\n".join(f"  {name}" for name in methods["served"]))
        print("not served (chat.bsky):")
        print("\n".join(f"  {name}" for name in methods["unserved"]) or "  (none)")
    elif args.command == "replay":
        try:
            report = replay(_base_url(args.url), read_recording(args.file), args.admin_token)
        except (OSError, ValueError, RuntimeError, aiohttp.ClientError) as e:
            print(f"bsky-chat-mock replay: {e}", file=sys.stderr)
            return 1
        print(report.text())
        return 0 if report.ok else 1
    elif args.command == "transcript":
        try:
            print(render_transcript(read_recording(args.file)))
        except (OSError, ValueError) as e:
            print(f"bsky-chat-mock transcript: {e}", file=sys.stderr)
            return 1
    elif args.command == "snapshot":
        try:
            print(fetch_snapshot(_base_url(args.url), args.admin_token), end="")
        except (OSError, RuntimeError, aiohttp.ClientError) as e:
            print(f"bsky-chat-mock snapshot: {e}", file=sys.stderr)
            return 1
    elif args.command == "check":
        try:
            source = find(args.file)
            check(source.spec, source.source)
        except ScenarioError as e:
            print(e, file=sys.stderr)
            return 1
        print(f"{args.file}: ok")
    return 0

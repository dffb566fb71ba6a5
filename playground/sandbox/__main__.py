"""``python -m playground.sandbox``: run the sandbox on its own, so anyone can point Krea's examples at it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from playground.catalog import load_catalog
from playground.settings import load_settings, replace

from .engine import CANCEL_REFUSED_STATUSES, CANCELLABLE, STATUSES, TERMINAL, JobEngine, is_loopback_host
from .runner import SandboxServer

DEFAULT_PORT = 8787


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m playground.sandbox",
        description="A Krea-compatible API server on your machine (procedural images; see docs/SANDBOX.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help=f"port (default $SANDBOX_PORT or {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--speed", type=float, help="job duration = catalog seconds x this (default 0.06)")
    parser.add_argument("--min-job-seconds", type=float, help="shortest job duration (default 1.5)")
    parser.add_argument("--token", help="accept only this Bearer value (default: any)")
    parser.add_argument("--concurrency", type=int, help="running jobs per key before backlog (default 8)")
    parser.add_argument("--backlog", type=int, help="backlogged jobs per key before 429 (default 32)")
    parser.add_argument("--balance-usd", type=float, help="USD balance; 402 once spent (default unlimited)")
    parser.add_argument("--invalid-body-status", type=int, choices=(400, 422), help="status for bad bodies")
    parser.add_argument("--allow-remote-webhooks", action="store_true", help="allow non-loopback X-Webhook-URL")
    parser.add_argument("--keep-jobs", type=int, help="finished jobs kept before the oldest are dropped")
    parser.add_argument("--faults", action="store_true",
                        help="serve the fault-control route /_sandbox/faults (anyone who can reach the sandbox "
                             "can then fail its jobs; default off, env SANDBOX_FAULTS=1)")
    parser.add_argument("--cancellable", type=_statuses, metavar="STATUSES",
                        help="comma-separated statuses DELETE /jobs/{id} may cancel (default "
                             f"{','.join(s for s in STATUSES if s in CANCELLABLE)}, as Krea documents; "
                             "'all' = every non-terminal status)")
    parser.add_argument("--cancel-refused-status", type=int, choices=CANCEL_REFUSED_STATUSES,
                        help="status of a DELETE on a job in another status (default 404, the one Krea documents)")
    parser.add_argument("--openapi", metavar="PATH",
                        help="serve the models of this Krea /openapi.json instead of the bundled catalog "
                             "(default $PLAYGROUND_OPENAPI)")
    return parser


def _statuses(text: str) -> frozenset[str]:
    live = [s for s in STATUSES if s not in TERMINAL]
    chosen = live if text.strip() == "all" else [s.strip() for s in text.split(",") if s.strip()]
    wrong = [s for s in chosen if s not in live]
    if wrong or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(live)} (or 'all'); got {text!r}")
    return frozenset(chosen)


def engine_options(args: argparse.Namespace) -> dict:
    """The JobEngine arguments the flags set (none: the engine's defaults)."""
    options = {}
    if args.cancellable is not None:
        options["cancellable"] = args.cancellable
    if args.cancel_refused_status is not None:
        options["cancel_refused_status"] = args.cancel_refused_status
    return options


def settings_from_args(args: argparse.Namespace):
    settings = load_settings().sandbox
    port = args.port if args.port is not None else int(os.environ.get("SANDBOX_PORT") or DEFAULT_PORT)
    changes = {"host": args.host, "port": port}
    for arg, name in (
        ("speed", "speed"),
        ("min_job_seconds", "min_job_seconds"),
        ("token", "required_token"),
        ("concurrency", "concurrency_limit"),
        ("backlog", "backlog_limit"),
        ("balance_usd", "balance_usd"),
        ("invalid_body_status", "invalid_body_status"),
        ("keep_jobs", "keep_jobs"),
    ):
        value = getattr(args, arg)
        if value is not None:
            changes[name] = value
    if args.allow_remote_webhooks:
        changes["webhook_allow_remote"] = True
    if args.faults:
        changes["faults_enabled"] = True
    return replace(settings, **changes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    if not is_loopback_host(settings.host):
        print(f"warning: listening on {settings.host}: other machines can reach this sandbox.", file=sys.stderr)
    openapi = args.openapi or os.environ.get("PLAYGROUND_OPENAPI") or None
    try:
        catalog = load_catalog(openapi=openapi) if openapi else load_catalog()
    except Exception as exc:  # a missing file, not JSON, not a spec we can read: say so, no traceback
        source = openapi or "the bundled models.json"
        print(f"error: cannot build the catalog from {source}: {exc}", file=sys.stderr)
        return 2
    options = engine_options(args)
    server = (SandboxServer(settings, engine=JobEngine(settings, catalog, **options)) if options
              else SandboxServer(settings, catalog))
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    base = server.base_url
    bearer = "$SANDBOX_TOKEN" if settings.required_token else "sandbox"
    example = (
        f"curl -X POST {base}/generate/image/bfl/flux-1-dev -H \"Authorization: Bearer {bearer}\" "
        "-H \"Content-Type: application/json\" -d '{\"prompt\": \"a lighthouse at dusk\"}'"
    )
    print(f"Krea sandbox running at {base}  (API_BASE = \"{base}\"; Ctrl+C to stop)", flush=True)
    print(f"Try: {example}", flush=True)
    if settings.faults_enabled:
        print(f"Fault control on: POST {base}/_sandbox/faults (see docs/SANDBOX.md)", flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):  # run the clean-up below (even if started with `&`)
        signal.signal(signum, lambda *_: sys.exit(0))
    try:
        threading.Event().wait()  # until Ctrl+C / SIGTERM
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

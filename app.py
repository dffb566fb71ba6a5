"""Krea Playground: run it with `python app.py` (Hugging Face Spaces runs this file too).

With KREA_API_TOKEN (or KREA_API_KEY) set, jobs go to Krea's API; without one, the app starts the sandbox, a
Krea-compatible server on loopback that renders procedural images, so the playground works out of the box.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

# Before gradio is imported: no analytics or version checks (outbound calls), no run history in localStorage.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")

from playground.settings import load_settings, replace  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Krea text-to-image playground. Without KREA_API_TOKEN it runs on the local sandbox.",
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1; env GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, help="port to listen on (default 7860; env GRADIO_SERVER_PORT)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--sandbox", dest="sandbox", action="store_true", default=None,
                      help="use the local sandbox even if a token is set")
    mode.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                      help="use Krea's API (needs KREA_API_TOKEN, or users paste their own)")
    parser.add_argument("--auth", metavar="USER:PASSWORD[,USER:PASSWORD]",
                        help="require a login for the page and its API (env PLAYGROUND_AUTH)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (needs internet)")
    parser.add_argument("--openapi", metavar="PATH",
                        help="build the model catalog from this Krea /openapi.json instead of the bundled one "
                             "(env PLAYGROUND_OPENAPI)")
    parser.add_argument("--sandbox-speed", type=float,
                        help="sandbox job duration factor vs. real models (default 0.06; env SANDBOX_SPEED)")
    parser.add_argument("--sandbox-faults", action="store_true",
                        help="serve the sandbox's fault-control route /_sandbox/faults (default off; "
                             "env SANDBOX_FAULTS=1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up probes, one line each
    settings = load_settings()
    app_settings = settings.app
    if args.host:
        app_settings = replace(app_settings, host=args.host)
    if args.port:
        app_settings = replace(app_settings, port=args.port)
    if args.share:
        app_settings = replace(app_settings, share=True)
    if args.auth:
        from playground.settings import parse_auth

        app_settings = replace(app_settings, auth=parse_auth(args.auth))
    settings = replace(settings, app=app_settings)
    if args.sandbox is not None:
        settings = replace(settings, use_sandbox=args.sandbox)
    if args.sandbox_speed:
        settings = replace(settings, sandbox=replace(settings.sandbox, speed=args.sandbox_speed))
    if args.sandbox_faults:
        settings = replace(settings, sandbox=replace(settings.sandbox, faults_enabled=True))
    if not settings.use_sandbox and not settings.token:
        print("Note: no KREA_API_TOKEN set; visitors must paste their own token to generate.", file=sys.stderr)

    from playground.backend import start_backend, stop_backend
    from playground.catalog import load_catalog
    from playground.cleanup import start_sweeper
    from playground.ui.app import build_demo, launch_options

    openapi = args.openapi or os.environ.get("PLAYGROUND_OPENAPI") or None
    catalog = load_catalog(openapi=openapi) if openapi else load_catalog()  # a newer spec, when Krea adds models
    backend = start_backend(settings, catalog)
    # Old previews, Compare exports and opened bundles in the temp dir go after a day; saved PNGs never.
    sweeper = start_sweeper(settings.app.temp_sweep_interval_s, settings.app.temp_max_age_s,
                            protect=(settings.app.output_dir, settings.app.data_dir))
    try:
        demo, _service = build_demo(settings, backend, catalog)
        demo.launch(**launch_options(settings, backend))
    finally:
        sweeper.stop()
        stop_backend(backend)


if __name__ == "__main__":
    main()

"""`python -m sandbox`: serve the sandbox creator platform."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8710)
    parser.add_argument(
        "--skin", choices=("fanbox", "velvet"), default="fanbox", help="which platform to be"
    )
    parser.add_argument("--db", type=Path, default=Path("var/sandbox.db"), help="SQLite file")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies guard windows (0.01 in tests)"
    )
    parser.add_argument("--control", action="store_true", help="serve the /_control API")
    parser.add_argument("--min-send-gap", type=float, default=3.0, help="human seconds")
    parser.add_argument("--session-ttl", type=float, default=86400, help="seconds, unscaled")
    parser.add_argument("--page-size", type=int, default=20, help="inbox rows per page")
    args = parser.parse_args(argv)
    config = SandboxConfig(
        db_path=args.db,
        skin=args.skin,
        time_scale=args.time_scale,
        control_enabled=args.control,
        min_send_gap_s=args.min_send_gap,
        session_ttl_s=args.session_ttl,
        page_size=args.page_size,
    )
    serve(config, args.host, args.port)


if __name__ == "__main__":
    main()

"""Start the app so that nothing leaves the machine: `python -m workbench.ui.serve [options]`.

Every HTTP response carries security headers (`SECURITY_HEADERS`): no framing by other origins,
and a content security policy that lets the page load only the app's own scripts, styles,
fonts and images, and connect only to the app — so text a user wrote (a memo with a Markdown
image, say) can never make another user's browser fetch anything from elsewhere.

`streamlit run` itself looks this machine's addresses up when a request comes from an origin
that is not local (a UDP socket "towards" 8.8.8.8 for the internal address, an HTTP request to
checkip.amazonaws.com for the external one: `streamlit.net_util`), and once more at start-up
when headless. Both answer "unknown" here, before the server starts, so an origin check simply
compares with localhost, the configured `browser.serverAddress` and
`server.corsAllowedOrigins`. Options are `streamlit run`'s (`--server.port=8502`...).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    # Streamlit's front end evaluates code for charts (Vega), loads WebAssembly (Arrow) and runs
    # a custom component's inline script as a blob: module (the coding screen)
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-src 'self' blob: data:",
    "worker-src 'self' blob:",
    "media-src 'self' blob: data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class SecurityHeaders:
    """ASGI middleware adding `SECURITY_HEADERS` to every HTTP response (unless already set)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secure_headers() -> None:
    """Put `SecurityHeaders` first in the middleware Streamlit's server builds its app with."""
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app

    streamlit_middleware = starlette_app.create_streamlit_middleware
    starlette_app.create_streamlit_middleware = lambda: [Middleware(SecurityHeaders), *streamlit_middleware()]


def local_only() -> None:
    """Replace Streamlit's look-ups of this machine's addresses with "unknown"."""
    from streamlit import net_util

    net_util.get_external_ip = lambda: None
    net_util.get_internal_ip = lambda: None


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli as streamlit_cli

    local_only()
    secure_headers()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    streamlit_cli.main()


if __name__ == "__main__":
    main()

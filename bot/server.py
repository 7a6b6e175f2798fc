"""The action server: rasa-sdk's own Sanic app (`/health`, `/webhook`, `/actions`) plus
`GET /status`, the knowledge base's version and state, for the hub's `/health`, and
`GET /search?q=...&language=..&k=3`, the best FAQ answers for a text (the desk's agent
assist: the hub holds neither the model nor the index), and `POST /cluster`, texts grouped by
meaning (the reports' knowledge gaps).

    python -m bot.server --port 5055

It takes `python -m rasa_sdk`'s arguments (`--actions` defaults to bot.actions) and
starts the same way, with two differences that matter here: it binds 127.0.0.1 unless
SANIC_HOST says otherwise (rasa-sdk binds 0.0.0.0), and it always runs one Sanic worker,
since every worker would hold its own copy of the embedding model and the index.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One OpenMP thread (FAISS's search, torch's pool until `limit_torch_threads`): OpenMP's
# threads, one per core, kept spinning after each search on the core the next embedding
# needed, and a `/search` took 23 ms instead of 11. Set before anything loads OpenMP.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from rasa_sdk import utils  # noqa: E402
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME  # noqa: E402
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context  # noqa: E402
from rasa_sdk.plugin import plugin_manager  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402
from sanic.response import HTTPResponse  # noqa: E402

log = logging.getLogger("bot.server")  # not "__main__" under `python -m`

DEFAULT_ACTIONS = "bot.actions"
DEFAULT_HOST = "127.0.0.1"


def argument_parser() -> argparse.ArgumentParser:
    parser = create_argument_parser()
    parser.set_defaults(actions=DEFAULT_ACTIONS)
    return parser


def configure_logging(args: argparse.Namespace) -> None:
    """As `python -m rasa_sdk` does, and before the actions load: the knowledge base logs
    at start-up which FAQ files it could not serve as they are."""
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()


def add_status_route(app: Sanic) -> None:
    """`GET /status`: the status of the knowledge base the actions answer from."""
    from bot.actions.knowledge_base import KB  # already loaded by the actions package

    @app.get("/status")
    async def status(_: Request) -> HTTPResponse:
        return response.json(KB.status())


SEARCH_MAX_K = 10
SEARCH_MAX_TEXT = 2000


def add_search_route(app: Sanic) -> None:
    """`GET /search?q=<text>&language=<pl|en>&k=<1-10, default 3>`: `{"results": [{"id", "title",
    "answer", "score", "language"}]}`, best first, each entry in `language` where a
    translation exists (default: the language the text is written in)."""
    from bot.actions.knowledge_base import KB, off_loop
    from knowledge.text import detect_language

    @app.get("/search")
    async def search(request: Request) -> HTTPResponse:
        text = (request.args.get("q") or "").strip()
        language = request.args.get("language") or None
        try:
            k = int(request.args.get("k") or 3)
        except ValueError:
            k = 0
        if not text or len(text) > SEARCH_MAX_TEXT:
            return response.json({"error": f"'q' must be 1-{SEARCH_MAX_TEXT} characters"}, status=400)
        if not 1 <= k <= SEARCH_MAX_K:
            return response.json({"error": f"'k' must be a number from 1 to {SEARCH_MAX_K}"}, status=400)
        if language is not None and not (len(language) == 2 and language.isalpha() and language.islower()):
            return response.json({"error": "'language' must be a two-letter code like pl or en"}, status=400)
        kb = KB.current  # one snapshot for the whole answer, even mid-reload
        language = language or detect_language(text, kb.default_language)
        results = []
        for hit in await off_loop(kb.search, text, k):  # as a reply does it, off the event loop
            entry = kb.entry(hit.id, language)
            results.append(
                {
                    "id": entry.id,
                    "title": entry.title,
                    "answer": entry.answer,
                    "score": round(hit.score, 4),
                    "language": entry.language,
                }
            )
        return response.json({"results": results})


def add_cluster_route(app: Sanic) -> None:
    """`POST /cluster` `{"texts": [...], "threshold"?, "wait"?}`: the texts grouped by meaning,
    for the reports' knowledge gaps: `{"groups": [{"members", "representative", "examples"}]}`,
    indexes into `texts`, largest group first; 503 `{"pending": true}` while new texts are
    still being embedded after `wait` seconds (see bot/clustering.py)."""
    from bot.actions.knowledge_base import KB, WORKERS
    from bot.clustering import DEFAULT_WAIT, Clustering, request_problem

    clustering = Clustering(KB, WORKERS)

    @app.post("/cluster")
    async def cluster(request: Request) -> HTTPResponse:
        try:
            body = request.json
        except Exception:  # Sanic raises its own BadRequest subclass on invalid JSON
            body = None
        problem = request_problem(body)
        if problem:
            return response.json({"error": problem}, status=400)
        wait = DEFAULT_WAIT if body.get("wait") is None else body["wait"]
        try:
            groups = await clustering.groups(body["texts"], body.get("threshold"), wait)
        except Exception:
            log.exception("clustering failed")
            return response.json({"error": "the texts could not be grouped (see the action server's log)"}, status=500)
        if groups is None:
            return response.json(
                {"error": "still embedding the texts: ask again in a moment", "pending": True},
                status=503,
                headers={"Retry-After": "15"},
            )
        return response.json({"groups": groups})


def build_app(args: argparse.Namespace) -> Sanic:
    app = create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    add_status_route(app)
    add_search_route(app)
    add_cluster_route(app)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def limit_torch_threads() -> None:
    """One torch thread per embedding (FAQBOT_TORCH_THREADS to change it). Rasa and the hub
    share the machine's cores with this process: torch's default, a thread per core,
    spins threads that wait for cores those processes hold, and under load every reply
    costs more CPU. Messages that arrive together are batched instead (knowledge/embedder.py).
    A message embedded alone, when the server is not busy, gets up to two threads
    (FAQBOT_TORCH_THREADS_ALONE); ONNX Runtime, which serves the model by default, uses
    that many for every call (its threads sleep when idle). OpenMP is held to one thread
    from the start (OMP_NUM_THREADS, above)."""
    from knowledge.embedder import serve_threads

    batched = int(os.environ.get("FAQBOT_TORCH_THREADS") or 1)
    alone = int(os.environ.get("FAQBOT_TORCH_THREADS_ALONE") or min(2, os.cpu_count() or 1))
    serve_threads(batched, max(batched, alone))


def main(argv: Sequence[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    configure_logging(args)
    app = build_app(args)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST") or DEFAULT_HOST
    log.info("action server on %s://%s:%d", "https" if ssl_context else "http", host, args.port)
    limit_torch_threads()  # after the knowledge base loaded: a first start embeds it with every core
    app.run(host, args.port, ssl=ssl_context, workers=1)


if __name__ == "__main__":
    main()

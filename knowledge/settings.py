"""Knowledge-base settings, from the environment. Relative paths are relative to the
project folder, so the CLI and the action server agree wherever they are started."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_path(value: str | os.PathLike) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def parse_languages(value: str) -> tuple[str, ...]:
    """`pl, en` -> ("pl", "en"): a comma-separated list, as in an env file."""
    return tuple(dict.fromkeys(code.strip().lower() for code in value.split(",") if code.strip()))


def parse_switch(name: str, value: str) -> bool:
    """1/0, true/false, on/off, yes/no; anything else is a mistake worth stopping for."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "on", "yes"):
        return True
    if lowered in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"{name}={value!r}: use 1 or 0")


@dataclass(frozen=True)
class Settings:
    kb_dir: Path = PROJECT_ROOT / "data" / "faq"
    model: str = str(PROJECT_ROOT / ".models" / "multilingual-e5-small")
    default_language: str = "pl"
    cache_path: Path | None = PROJECT_ROOT / ".cache" / "embeddings.sqlite3"
    reload_interval: float = 1.0  # seconds between checks of the folder
    # Where each FAQ file's last valid text is kept, so a restart with a broken file still
    # serves its entry (see last_good.py). None: not kept.
    last_good_dir: Path | None = PROJECT_ROOT / ".cache" / "kb-last-good"
    # The languages customers are answered in (the hub's too): a file in another language
    # can never be served, which validation says.
    languages: tuple[str, ...] = ("pl", "en")
    # Adapting the model to the FAQ (adapt.py): on, the action server serves the tuned
    # model for the folder's content and trains one in the background after each edit.
    # Off by default in code (tests, scripts); `make run` turns it on (FAQBOT_ADAPT=1).
    adapt: bool = False
    adapt_dir: Path = PROJECT_ROOT / ".cache" / "adapted"
    adapt_epochs: int = 2  # passes over the phrasings; the second is worth its time (adapt.py)

    @classmethod
    def from_env(cls, kb_dir: str | os.PathLike | None = None) -> Settings:
        """Settings from FAQBOT_* variables; `kb_dir` (a command-line argument, relative
        to the current folder) wins over FAQBOT_KB_DIR."""
        env = os.environ
        values: dict = {}
        if env.get("FAQBOT_KB_DIR"):
            values["kb_dir"] = project_path(env["FAQBOT_KB_DIR"])
        if env.get("FAQBOT_EMBEDDING_MODEL"):
            model = env["FAQBOT_EMBEDDING_MODEL"]
            local = project_path(model)
            values["model"] = str(local) if local.exists() else model  # else a hub name
        if env.get("FAQBOT_DEFAULT_LANGUAGE"):
            values["default_language"] = env["FAQBOT_DEFAULT_LANGUAGE"]
        if "FAQBOT_EMBEDDING_CACHE" in env:
            raw = env["FAQBOT_EMBEDDING_CACHE"]
            values["cache_path"] = project_path(raw) if raw else None
        if env.get("FAQBOT_RELOAD_INTERVAL"):
            values["reload_interval"] = float(env["FAQBOT_RELOAD_INTERVAL"])
        if "FAQBOT_KB_LAST_GOOD" in env:
            raw = env["FAQBOT_KB_LAST_GOOD"]
            values["last_good_dir"] = project_path(raw) if raw else None
        if env.get("FAQBOT_LANGUAGES"):
            values["languages"] = parse_languages(env["FAQBOT_LANGUAGES"])
        if env.get("FAQBOT_ADAPT"):
            values["adapt"] = parse_switch("FAQBOT_ADAPT", env["FAQBOT_ADAPT"])
        if env.get("FAQBOT_ADAPT_DIR"):
            values["adapt_dir"] = project_path(env["FAQBOT_ADAPT_DIR"])
        if env.get("FAQBOT_ADAPT_EPOCHS"):
            values["adapt_epochs"] = max(1, int(env["FAQBOT_ADAPT_EPOCHS"]))
        if kb_dir is not None:
            values["kb_dir"] = Path(kb_dir).resolve()
        return cls(**values)

"""Reading a hall's config file (hall.toml): TOML, paths relative to the file, and the
catalogue and post files beside it (govhall.catalogue). Apart from govhall.config so that
the catalogue, which builds config sections, does not import its own reader."""
from __future__ import annotations

import tomllib
from pathlib import Path

from govhall.catalogue import load_catalogue, load_posts
from govhall.config import Config, ConfigError, cross_check, parse_config, read_text_file


def load_config(path: str | Path) -> Config:
    path = Path(path)
    text = read_text_file(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, str(path))
    url = config.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        # a relative SQLite path is relative to the config file, not to the current directory
        config.database.url = "sqlite:///" + str((path.parent / url.removeprefix("sqlite:///")).resolve())
    for key in ("tls_cert", "tls_key"):
        value = getattr(config.http, key)
        if value and not Path(value).is_absolute():
            setattr(config.http, key, str((path.parent / value).resolve()))
    if config.broker.ca and not Path(config.broker.ca).is_absolute():
        config.broker.ca = str((path.parent / config.broker.ca).resolve())
    if config.broker.config_dir and not Path(config.broker.config_dir).is_absolute():
        config.broker.config_dir = str((path.parent / config.broker.config_dir).resolve())
    if config.calendar.file and not Path(config.calendar.file).is_absolute():
        config.calendar.file = str((path.parent / config.calendar.file).resolve())
    for name, section, loader in ((config.attendance.posts_csv, "posts", load_posts),
                                  (config.cases.catalogue, "matters", load_catalogue)):
        if name:                                   # a file beside hall.toml adds to the section
            extra = Path(name) if Path(name).is_absolute() else path.parent / name
            setattr(config, section, [*getattr(config, section), *loader(extra)])
            problems = [(k, why) for k, why in cross_check(config) if k.startswith(section)]
            if problems:
                raise ConfigError("\n".join(f"{extra}: {key}: {why}" for key, why in problems))
    return config

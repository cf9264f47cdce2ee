"""The kiosk's home screen as data: which buttons (tiles) it shows, with what words, on which
page. Two levels: categories that share a `group` (a department with several matters) sit
behind one tile that opens a page of their own. Pure Python, tested without Qt."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.texts import EN, ZH, text


@dataclass(frozen=True)
class KioskCategory:
    id: str
    name: str
    prefix: str
    name_en: str = ""
    group: str = ""
    group_en: str = ""

    def label(self, lang: str) -> str:
        return self.name_en if lang == EN and self.name_en else self.name


@dataclass(frozen=True)
class Tile:
    key: str                   # the category id, or "group:<name>"
    title: str
    detail: str
    enabled: bool
    category: str | None = None
    group: str | None = None

    @property
    def label(self) -> str:
        return f"{self.title}\n{self.detail}" if self.detail else self.title


def category_tile(cat: KioskCategory, queue: dict | None, lang: str = ZH, online: bool = True) -> Tile:
    """`queue` is the category's entry of queue.state (None until the state arrives)."""
    if queue is not None and not queue.get("issuing", True):       # greyed, with the reason and when it opens
        why = text("quota_full" if queue.get("not_issuing_because") == "quota_full" else "closed", lang)
        when = queue.get("next_open")
        detail = why + (" · " + text("opens", lang, t=f"{datetime.fromisoformat(when):%H:%M}") if when else "")
        return Tile(cat.id, cat.label(lang), detail, False, category=cat.id)
    detail = ""
    if queue is not None:
        detail = text("waiting", lang, n=queue.get("waiting", 0))
        wait = queue.get("estimated_wait_s")
        if wait is not None and wait >= 60 and queue.get("waiting", 0) > 0:
            detail += " · " + text("about", lang, m=round(wait / 60))
    return Tile(cat.id, cat.label(lang), detail, online, category=cat.id)


def _groups(categories: list[KioskCategory]) -> dict[str, list[KioskCategory]]:
    groups: dict[str, list[KioskCategory]] = {}
    for cat in categories:
        if cat.group:
            groups.setdefault(cat.group, []).append(cat)
    return groups


def home_tiles(categories: list[KioskCategory], queue: dict[str, dict], lang: str = ZH,
               online: bool = True) -> list[Tile]:
    """One tile per ungrouped category and per group of two or more, in config order."""
    groups = _groups(categories)
    tiles: list[Tile] = []
    seen: set[str] = set()
    for cat in categories:
        members = groups.get(cat.group, [])
        if len(members) < 2:
            tiles.append(category_tile(cat, queue.get(cat.id), lang, online))
            continue
        if cat.group in seen:
            continue
        seen.add(cat.group)
        inner = [category_tile(m, queue.get(m.id), lang, online) for m in members]
        waiting = sum(queue.get(m.id, {}).get("waiting", 0) for m in members)
        title = cat.group_en if lang == EN and cat.group_en else cat.group
        detail = text("services", lang, n=len(members))
        if any(m.id in queue for m in members):
            detail += " · " + text("waiting", lang, n=waiting)
        tiles.append(Tile(f"group:{cat.group}", title, detail, online and any(t.enabled for t in inner),
                          group=cat.group))
    return tiles


def group_tiles(categories: list[KioskCategory], group: str, queue: dict[str, dict], lang: str = ZH,
                online: bool = True) -> list[Tile]:
    return [category_tile(c, queue.get(c.id), lang, online) for c in categories if c.group == group]


def grid_shape(portrait: bool, large: bool) -> tuple[int, int]:
    """(columns, rows) of tiles on one page. 适老化 (large) shows fewer, bigger choices."""
    if large:
        return (1, 4) if portrait else (2, 2)
    return (2, 5) if portrait else (3, 3)


def paginate(tiles: list[Tile], page: int, per_page: int) -> tuple[list[Tile], int, int]:
    """The tiles of one page, the page actually shown (clamped) and the number of pages."""
    pages = max(1, -(-len(tiles) // per_page))
    page = min(max(page, 0), pages - 1)
    return tiles[page * per_page:(page + 1) * per_page], page, pages

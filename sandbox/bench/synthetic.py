"""Deterministic synthetic Telegram Desktop exports (and paper-consent rosters) of any size.

:func:`write_synthetic_export` writes one chat's ``result.json`` in the current Telegram
Desktop schema — ``date`` plus ``date_unixtime``, ``text`` plus ``text_entities``, ``from_id``
as ``"user…"``, replies to earlier messages, reactions (the keep emoji 📌 among them, with
``recent`` reactors), a few edits, photo placeholders, link parts and a few service
messages — and returns a :class:`SyntheticInfo` with the numbers an import of it must give
once the roster of :func:`write_synthetic_roster` is applied.

Texts are 20–90 characters of Chinese, English or both, built from words of neighbourhood life
(电梯, 快递柜, 志愿者, parcel locker, group buy …), so a segmenter has real words to cut.
Authors post with a Zipf-like skew (a few talk a lot), timestamps spread evenly over
``years`` years with a seeded jitter.

The same arguments always give the same bytes (one ``random.Random(seed)`` drives everything,
and JSON is written with a fixed key order). The file is written as it is generated, one
message at a time: memory stays flat at any size (a 1,000,000-message export is ~600 MB on
disk and a few MB of RAM to write).
"""

from __future__ import annotations

import csv
import json
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "KEEP_EMOJI",
    "LEVEL_MIX",
    "SyntheticAuthor",
    "SyntheticInfo",
    "write_synthetic_export",
    "write_synthetic_roster",
]

KEEP_EMOJI = "📌"
LEVELS = ("all", "tagged", "none", "unknown")
LEVEL_MIX: Mapping[str, float] = {"all": 0.60, "tagged": 0.15, "none": 0.10, "unknown": 0.15}
"""The default share of authors at each consent level (``unknown``: not on the roster)."""

DEFAULT_START = datetime(2023, 3, 1, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_CHAT_ID = 1555000777  # the export's bare id; Bot API id "-1001555000777"
MIN_TEXT, MAX_TEXT = 20, 90

# How often things happen, per ordinary message.
P_REPLY = 0.15
P_EDIT = 0.01
P_PHOTO = 0.02
P_LINK = 0.02
P_REACTIONS = 0.10
P_KEEP_GIVEN_REACTIONS = 0.40  # so about 4% of messages carry 📌
P_NO_RECENT = 0.10  # a reaction summary without "recent" (older exports): an anonymous tag
SERVICE_EVERY = 2000  # one service message per this many ordinary messages (and one first)
STYLE_CUTS = (0.55, 0.75)  # < 0.55 Chinese, < 0.75 English, else mixed

_FILE_NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

# --- word lists ------------------------------------------------------------------------------

_ZH_WHO = (
    "王阿姨", "李师傅", "张老师", "物业", "保安", "居委会", "志愿者", "业主们", "楼长",
    "快递员", "小朋友们", "老人家", "大家", "我们", "隔壁邻居", "对门", "保洁阿姨", "社区医生",
)  # fmt: skip
_ZH_WHEN = (
    "今天", "明天", "早上", "晚上", "周末", "下午", "刚才", "昨天晚上", "这个星期", "下周一",
    "中秋节", "春节前", "国庆期间", "六一那天", "端午节", "下雨天", "月底",
)  # fmt: skip
_ZH_DO = (
    "通知", "提醒", "组织", "修好了", "检查", "打扫", "报名", "讨论", "投票", "帮忙搬",
    "找到了", "丢了", "送来了", "团购", "关闭", "更换", "清理", "登记", "维修", "安装",
)  # fmt: skip
_ZH_WHAT = (
    "电梯", "快递柜", "停车位", "垃圾分类", "楼道", "消防通道", "水管", "门禁卡", "蔬菜包",
    "水果", "钥匙", "小猫", "自行车", "花园", "健身器材", "路灯", "地下车库", "雨伞",
    "业主大会", "志愿者活动", "募捐", "充电桩", "监控", "信箱", "绿化带", "儿童乐园",
)  # fmt: skip
_ZH_TAIL = (
    "大家注意一下", "辛苦了", "谢谢大家", "有问题群里说", "麻烦了", "太好了", "请互相转告",
    "注意安全", "欢迎参加", "别忘了", "有人知道吗", "我去看看", "已经反映给物业了",
    "需要的接龙", "楼下集合", "小心路滑",
)  # fmt: skip
_ZH_STOPS = ("。", "！", "？", "。", "。")
_EN_STOPS = (".", "!", "?", ".", ".")
_EN_WHO = (
    "The lift", "Our building", "The parcel locker", "The volunteer team", "Someone",
    "The property office", "Mrs Wang", "The night guard", "Our neighbours", "The kids",
    "The residents' committee", "The bike shed", "Building 3",
)  # fmt: skip
_EN_DO = (
    "is broken again", "was fixed this morning", "moved to the north gate",
    "needs more helpers", "found a lost cat", "will meet on Saturday", "collected the rubbish",
    "is asking about parking", "left a package at the door", "organised a group buy",
    "voted for new lifts", "cleaned the stairwell", "lost a key",
)  # fmt: skip
_EN_TAIL = (
    "thanks everyone", "please share", "see you there", "be careful tonight", "any ideas?",
    "well done", "let me know", "so kind of you", "count me in",
)  # fmt: skip
_EN_WORDS = (
    "WiFi", "OK", "meeting", "parcel", "lift", "group buy", "app", "QR code", "deadline",
    "check", "volunteer", "delivery", "PDF", "Excel",
)  # fmt: skip
_EMOJI = ("👍", "🙏", "😂", "❤", "🎉")
_OTHER_REACTIONS = ("👍", "❤", "🎉", "🙏", "😂", "🔥")
_ZH_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_ZH_GIVEN = ("阿姨", "师傅", "老师", "叔叔", "姐", "哥", "伟", "芳", "敏", "静", "强", "磊", "洋")
_EN_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Leo", "Chloe", "Ethan",
    "Grace", "Jack", "Lily", "Sam", "Zoe",
)  # fmt: skip
_STEWARDS = ("王阿姨的女儿 (楼长)", "张老师 (志愿者队)", "居委会 刘主任")


@dataclass(frozen=True, slots=True)
class SyntheticAuthor:
    """One resident of the synthetic chat and the consent the roster gives them."""

    user_id: str
    """Telegram user id (digits); the export writes ``"user" + user_id``."""
    name: str
    level: str
    """``all``, ``tagged``, ``none`` or ``unknown`` (``unknown``: not on the roster)."""
    attribution: str


@dataclass(frozen=True, slots=True)
class SyntheticInfo:
    """What was written, and what an import with the matching roster must report."""

    path: Path
    chat_id: str
    """The Bot API chat id (``"-100" + bare id``)."""
    chat_name: str
    seed: int
    messages: int
    """Ordinary messages (what the importer counts as ``entries``)."""
    service: int
    """Service messages (skipped by the importer)."""
    first_at: datetime
    last_at: datetime
    authors: tuple[SyntheticAuthor, ...]
    messages_by_level: Mapping[str, int]
    """Ordinary messages per author level (the keys are :data:`LEVELS`)."""
    kept_by_level: Mapping[str, int]
    """Messages the consent model keeps: all of ``all``, the 📌-tagged of ``tagged``."""
    keep_reactions: int
    """Messages carrying the keep emoji, whoever wrote them."""
    tags: int
    """Tag rows an import records: per kept message with 📌, its distinct ``recent`` reactors
    (one anonymous tag when the export names none)."""
    replies: int
    edited: int
    photos: int
    links: int
    size: int
    """Bytes written."""

    @property
    def entries(self) -> int:
        """Everything in the ``messages`` list: ordinary plus service messages."""
        return self.messages + self.service

    @property
    def kept(self) -> int:
        """Messages an import with the roster keeps."""
        return sum(self.kept_by_level.values())

    @property
    def not_kept(self) -> int:
        """Ordinary messages an import with the roster does not keep."""
        return self.messages - self.kept


def write_synthetic_export(
    path: Path,
    messages: int,
    *,
    seed: int = 7,
    authors: int = 200,
    start: datetime = DEFAULT_START,
    years: int = 3,
    days: int | None = None,
    level_mix: Mapping[str, float] = LEVEL_MIX,
    chat_id: int = DEFAULT_CHAT_ID,
    local_tz: tzinfo = SHANGHAI,
) -> SyntheticInfo:
    """Write a ``messages``-message export to ``path``; see the module docs.

    ``days``, when given, spreads the messages over that many days instead of ``years``
    (a busy week for the digest benchmark).

    ``local_tz`` is the exporting computer's zone, used only for the legacy ``date`` fields
    (``date_unixtime`` is what the importer reads).
    """
    if messages < 0 or authors < 1 or years < 1:
        raise ValueError("messages must be ≥ 0, authors and years ≥ 1")
    rng = random.Random(seed)
    people = _authors(rng, authors, level_mix)
    # Zipf-like activity: the first authors (in a shuffled order) talk the most.
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(authors)]
    activity = list(range(authors))
    rng.shuffle(activity)
    cumulative = list(accumulate(weights))
    services = 1 + messages // SERVICE_EVERY if messages else 0
    total = messages + services
    start_ts = int(start.timestamp())
    span = int(timedelta(days=days if days else 365 * years).total_seconds())
    gap = span // total if total else 0
    chat_name = "阳光花园邻里群（合成）"
    text_of = _TextMaker(rng)

    by_level = dict.fromkeys(LEVELS, 0)
    kept_by_level = dict.fromkeys(LEVELS, 0)
    keep_count = tags = replies = edited = photos = links = 0
    recent_ids: deque[int] = deque(maxlen=200)
    first_at = last_at = start
    service_slots = {round(i * total / services) for i in range(services)} if services else set()

    def local(ts: int) -> str:
        return datetime.fromtimestamp(ts, local_tz).isoformat()[:19]

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(
            "{\n"
            f' "name": {json.dumps(chat_name, ensure_ascii=False)},\n'
            ' "type": "private_supergroup",\n'
            f' "id": {chat_id},\n'
            ' "messages": ['
        )
        for index in range(total):
            mid = index + 1
            ts = start_ts + index * gap + (rng.randrange(gap) if gap > 1 else 0)
            if index == 0:
                first_at = datetime.fromtimestamp(ts, UTC)
            last_at = datetime.fromtimestamp(ts, UTC)
            if index in service_slots:
                entry = _service(rng, mid, ts, local, people, recent_ids)
            else:
                author = people[activity[_pick(rng, cumulative)]]
                by_level[author.level] += 1
                entry = {"id": mid, "type": "message", "date": local(ts), "date_unixtime": str(ts)}
                if rng.random() < P_EDIT:
                    when = ts + rng.randint(30, 3600)
                    entry["edited"] = local(when)
                    entry["edited_unixtime"] = str(when)
                    edited += 1
                entry["from"] = author.name
                entry["from_id"] = "user" + author.user_id
                if recent_ids and rng.random() < P_REPLY:
                    entry["reply_to_message_id"] = recent_ids[rng.randrange(len(recent_ids))]
                    replies += 1
                if rng.random() < P_PHOTO:
                    entry["photo"] = _FILE_NOT_INCLUDED
                    entry["width"] = 1280
                    entry["height"] = 960
                    photos += 1
                if rng.random() < P_LINK:
                    link = f"https://example.org/n/{mid}"
                    body = text_of(MAX_TEXT - len(link) - 1) + " "
                    entry["text"] = [body, {"type": "link", "text": link}]
                    entry["text_entities"] = [
                        {"type": "plain", "text": body},
                        {"type": "link", "text": link},
                    ]
                    links += 1
                else:
                    body = text_of()
                    entry["text"] = body
                    entry["text_entities"] = [{"type": "plain", "text": body}]
                if rng.random() < P_REACTIONS:
                    reactions, reactors = _reactions(rng, ts, local, people)
                    entry["reactions"] = reactions
                    if reactors is not None:
                        keep_count += 1
                        if author.level in ("all", "tagged"):
                            kept_by_level[author.level] += 1
                            tags += max(1, len(reactors))
                    elif author.level == "all":
                        kept_by_level["all"] += 1
                elif author.level == "all":
                    kept_by_level["all"] += 1
                recent_ids.append(mid)
            out.write(("\n" if index == 0 else ",\n") + _dump(entry))
        out.write("\n ]\n}\n")
    return SyntheticInfo(
        path=path,
        chat_id=f"-100{chat_id}",
        chat_name=chat_name,
        seed=seed,
        messages=messages,
        service=services,
        first_at=first_at,
        last_at=last_at,
        authors=tuple(people),
        messages_by_level=by_level,
        kept_by_level=kept_by_level,
        keep_reactions=keep_count,
        tags=tags,
        replies=replies,
        edited=edited,
        photos=photos,
        links=links,
        size=path.stat().st_size,
    )


def write_synthetic_roster(path: Path, info: SyntheticInfo) -> int:
    """Write the paper-consent roster for ``info``'s authors (everyone but ``unknown``);
    returns how many lines. Deterministic: it depends only on ``info``."""
    rows = [a for a in info.authors if a.level != "unknown"]
    recorded = info.last_at.astimezone(SHANGHAI) + timedelta(days=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ("account", "level", "attribution", "recorded_by", "recorded_at", "evidence")
        )
        for number, author in enumerate(rows, start=1):
            writer.writerow(
                (
                    f"telegram:{author.user_id}",
                    author.level,
                    author.attribution,
                    _STEWARDS[number % len(_STEWARDS)],
                    (recorded + timedelta(minutes=number)).isoformat(timespec="seconds"),
                    f"纸质同意书 #{number:04d}",
                )
            )
    return len(rows)


# --- the pieces ------------------------------------------------------------------------------


def _authors(rng: random.Random, count: int, mix: Mapping[str, float]) -> list[SyntheticAuthor]:
    """``count`` authors with unique ids and names, levels in the proportions of ``mix``."""
    unknown = set(mix) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown level(s) {sorted(unknown)}: levels are {', '.join(LEVELS)}")
    whole = sum(mix.values())
    levels: list[str] = []
    for level in LEVELS[:-1]:
        levels += [level] * round(count * mix.get(level, 0.0) / whole)
    levels = levels[:count]
    levels += ["unknown"] * (count - len(levels))
    rng.shuffle(levels)
    ids = rng.sample(range(10_000_000, 9_999_999_999), count)
    result = []
    for i, (user_id, level) in enumerate(zip(ids, levels, strict=True)):
        if rng.random() < 0.8:
            name = rng.choice(_ZH_SURNAMES) + rng.choice(_ZH_GIVEN)
        else:
            name = rng.choice(_EN_NAMES)
        attribution = "named" if rng.random() < 0.6 and level != "none" else "anonymous"
        result.append(SyntheticAuthor(str(user_id), f"{name}{i + 1}", level, attribution))
    return result


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    """An index drawn with the weights whose running sums are ``cumulative``."""
    x = rng.random() * cumulative[-1]
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


class _TextMaker:
    """Sentences of 20–90 characters: Chinese, English, or Chinese with English words."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, longest: int = MAX_TEXT) -> str:
        """One text of ``MIN_TEXT``–``longest`` characters."""
        rng = self.rng
        target = rng.randint(MIN_TEXT, longest)
        style = rng.random()
        if style < STYLE_CUTS[0]:
            clause, sep, stops = self._zh, "，", _ZH_STOPS
        elif style < STYLE_CUTS[1]:
            clause, sep, stops = self._en, ", ", _EN_STOPS
        else:
            clause, sep, stops = self._mixed, "，", _ZH_STOPS
        text = self._fill(clause, sep, target, longest) + rng.choice(stops)
        if rng.random() < 0.1 and len(text) < longest:
            text += rng.choice(_EMOJI)
        return text

    def _fill(self, clause: Callable[[], str], sep: str, target: int, longest: int) -> str:
        text = clause()
        while len(text) < target:
            more = clause()
            if len(text) + len(sep) + len(more) + 2 > longest:
                break
            text += sep + more
        if len(text) < MIN_TEXT:  # a short clause and a long next one: pad with short tails
            text += sep + self.rng.choice(_ZH_TAIL if sep == "，" else _EN_TAIL)
        if len(text) > longest - 2:
            text = text[: longest - 2].rstrip()
        return text

    def _zh(self) -> str:
        rng = self.rng
        form = rng.randrange(5)
        if form == 0:
            return rng.choice(_ZH_WHO) + rng.choice(_ZH_WHEN) + rng.choice(_ZH_DO)
        if form == 1:
            return rng.choice(_ZH_WHEN) + rng.choice(_ZH_WHAT) + rng.choice(_ZH_DO)
        if form == 2:
            return f"{rng.randint(1, 12)}号楼的" + rng.choice(_ZH_WHAT) + rng.choice(_ZH_DO)
        if form == 3:
            return rng.choice(_ZH_WHAT) + f"{rng.randint(5, 99)}元一份"
        return rng.choice(_ZH_TAIL)

    def _en(self) -> str:
        rng = self.rng
        text = rng.choice(_EN_WHO) + " " + rng.choice(_EN_DO)
        if rng.random() < 0.3:
            text += f" near building {rng.randint(1, 12)}"
        if rng.random() < 0.3:
            text += ", " + rng.choice(_EN_TAIL)
        return text

    def _mixed(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return rng.choice(_ZH_WHEN) + "的 " + rng.choice(_EN_WORDS) + " " + rng.choice(_ZH_DO)
        return rng.choice(_ZH_WHAT) + "的 " + rng.choice(_EN_WORDS) + " 在" + rng.choice(_ZH_WHO)


def _reactions(
    rng: random.Random,
    ts: int,
    local: Callable[[int], str],
    people: list[SyntheticAuthor],
) -> tuple[list[dict[str, object]], list[str] | None]:
    """A message's reactions, and the distinct ``recent`` reactor ids of its 📌 (``None``
    when it has no 📌)."""
    kinds: list[str] = []
    if rng.random() < P_KEEP_GIVEN_REACTIONS:
        kinds.append(KEEP_EMOJI)
    others = rng.sample(_OTHER_REACTIONS, 1 if kinds else rng.randint(1, 2))
    kinds += others
    reactions: list[dict[str, object]] = []
    keep_reactors: list[str] | None = None
    for emoji in kinds:
        count = rng.randint(1, 6)
        who = rng.sample(people, min(count, 3))
        reaction: dict[str, object] = {"type": "emoji", "count": count, "emoji": emoji}
        if rng.random() < P_NO_RECENT:
            who = []
        else:
            reaction["recent"] = [
                {"from": p.name, "from_id": "user" + p.user_id, "date": local(ts + 60 * (n + 1))}
                for n, p in enumerate(who)
            ]
        if emoji == KEEP_EMOJI:
            keep_reactors = [p.user_id for p in who]
        reactions.append(reaction)
    return reactions, keep_reactors


def _service(
    rng: random.Random,
    mid: int,
    ts: int,
    local: Callable[[int], str],
    people: list[SyntheticAuthor],
    recent_ids: deque[int],
) -> dict[str, object]:
    """A service message: members invited, or a message pinned."""
    actor = rng.choice(people)
    entry: dict[str, object] = {
        "id": mid,
        "type": "service",
        "date": local(ts),
        "date_unixtime": str(ts),
        "actor": actor.name,
        "actor_id": "user" + actor.user_id,
    }
    if recent_ids and rng.random() < 0.5:
        entry["action"] = "pin_message"
        entry["message_id"] = recent_ids[-1]
    else:
        entry["action"] = "invite_members"
        entry["members"] = [p.name for p in rng.sample(people, min(3, len(people)))]
    entry["text"] = ""
    entry["text_entities"] = []
    return entry


def _dump(entry: Mapping[str, object]) -> str:
    """One entry as Telegram Desktop writes it: one-space indents, at depth two."""
    return "  " + json.dumps(entry, ensure_ascii=False, indent=1).replace("\n", "\n  ")

"""Which emoji can tag a message, per platform.

Matrix accepts any emoji as a reaction, so the community's ``keep_emoji`` (default 📌) works
there as configured. Telegram accepts only a fixed list of reaction emoji, and 📌 is not on it:
where the configured emoji cannot be a Telegram reaction, ✍ ("write it down") is the keep
reaction on Telegram. Both are accepted from Telegram exports.
"""

from __future__ import annotations

# fmt: off
_SINGLE_EMOJI_REACTIONS = (
    "👍", "👎", "❤", "🔥", "🥰", "👏", "😁", "🤔", "🤯", "😱", "🤬", "😢",
    "🎉", "🤩", "🤮", "💩", "🙏", "👌", "🕊", "🤡", "🥱", "🥴", "😍", "🐳",
    "🌚", "🌭", "💯", "🤣", "⚡", "🍌", "🏆", "💔", "🤨", "😐", "🍓", "🍾",
    "💋", "🖕", "😈", "😴", "😭", "🤓", "👻", "👀", "🎃", "🙈", "😇", "😨",
    "🤝", "✍", "🤗", "🫡", "🎅", "🎄", "☃", "💅", "🤪", "🗿", "🆒", "💘",
    "🙉", "🦄", "😘", "💊", "🙊", "😎", "👾", "🤷", "😡",
)
# fmt: on
#: The emoji Telegram accepts as ``ReactionTypeEmoji`` (Bot API list).
TELEGRAM_REACTIONS = frozenset(_SINGLE_EMOJI_REACTIONS) | {
    "\u2764\ufe0f\u200d\U0001f525",  # heart on fire
    "\U0001f468\u200d\U0001f4bb",  # technologist
    "\U0001f937\u200d\u2642\ufe0f",  # man shrugging
    "\U0001f937\u200d\u2640\ufe0f",  # woman shrugging
}
TELEGRAM_KEEP_FALLBACK = "✍"


def bare(emoji: str) -> str:
    """The emoji without variation selectors (clients send ✍ and ✍️ alike)."""
    return emoji.replace("\ufe0f", "").replace("\ufe0e", "")


def keep_emoji(platform: str, configured: str) -> str:
    """The reaction that tags a message on ``platform`` for a community that chose
    ``configured``."""
    if platform == "telegram" and bare(configured) not in {bare(e) for e in TELEGRAM_REACTIONS}:
        return TELEGRAM_KEEP_FALLBACK
    return configured


def keep_reactions(platform: str, configured: str) -> frozenset[str]:
    """The reactions (as :func:`bare` forms) that tag a message on ``platform``: the
    community's emoji, and on Telegram ✍ where that emoji cannot be a reaction there. The
    live bot and the importers both ask this."""
    return frozenset({bare(configured), bare(keep_emoji(platform, configured))})


def is_keep(platform: str, configured: str, emoji: str) -> bool:
    """Whether a reaction ``emoji`` on ``platform`` tags the message."""
    return bare(emoji) in keep_reactions(platform, configured)

"""Matrix events in, Matrix message content out: pure functions on the raw event JSON.

The adapter reads events as the JSON the homeserver sent (nio keeps it as ``event.source``),
so what counts as a message, an edit, a reaction or a redaction is decided here, in one place,
without a client — and tested without a server.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from typing import Any

from archiver.events import AccountRef, ChatRef, MediaRef, MessageEvent
from bot.chat.messages import Reply

PLATFORM = "matrix"
MESSAGE = "m.room.message"
REACTION = "m.reaction"
REDACTION = "m.room.redaction"
MEMBER = "m.room.member"
# Polls (MSC3381): clients render the unstable names, so the bot sends those and reads both.
POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSES = ("m.poll.response", "org.matrix.msc3381.poll.response")
POLL_ENDS = ("m.poll.end", "org.matrix.msc3381.poll.end")
TEXT_KEY = "org.matrix.msc1767.text"
NOTICE = "m.notice"
ENCRYPTED = "m.room.encrypted"
# Message types whose body is what the person wrote; the others are media (body = caption).
TEXT_TYPES = ("m.text", "m.emote")
MEDIA_TYPES = {
    "m.image": "photo",
    "m.video": "video",
    "m.audio": "audio",
    "m.file": "document",
    "m.location": "location",
}
# The chat texts name commands with "/" (Telegram's way); Element intercepts "/", so on
# Matrix the bot shows them with "!" (both work: bot/chat/router.py accepts either prefix).
_COMMAND_MENTION = re.compile(
    r"(?<![\w/!])/(help|start|consent|keep|unkeep|forget|mydata|search|onthisday|digest|"
    r"stories|story|propose|policy|stewards|unsteward|link|record)\b"
)
_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")
Event = dict[str, Any]


def account(user_id: str) -> AccountRef:
    """A Matrix account."""
    return AccountRef(PLATFORM, user_id)


def chat(room_id: str) -> ChatRef:
    """A Matrix room."""
    return ChatRef(PLATFORM, room_id)


def content(event: Event) -> dict[str, Any]:
    """The event's content (a redacted event has an empty one)."""
    value = event.get("content")
    return value if isinstance(value, dict) else {}


def relation(event: Event) -> dict[str, Any]:
    """``content["m.relates_to"]``, or an empty dict."""
    value = content(event).get("m.relates_to")
    return value if isinstance(value, dict) else {}


def is_redacted(event: Event) -> bool:
    """The event was redacted before the bot saw it: nothing of it is to be kept."""
    unsigned = event.get("unsigned")
    return isinstance(unsigned, dict) and "redacted_because" in unsigned


def sent_at(event: Event) -> datetime:
    """When the homeserver received the event."""
    return datetime.fromtimestamp(int(event.get("origin_server_ts", 0)) / 1000, UTC)


def is_edit(event: Event) -> bool:
    """An ``m.replace`` of an earlier message."""
    return event.get("type") == MESSAGE and relation(event).get("rel_type") == "m.replace"


def reply_target(event: Event) -> str | None:
    """The event id a message replies to (``m.in_reply_to``)."""
    in_reply_to = relation(event).get("m.in_reply_to")
    if isinstance(in_reply_to, dict) and isinstance(in_reply_to.get("event_id"), str):
        return str(in_reply_to["event_id"])
    return None


def redacted_id(event: Event) -> str | None:
    """What a redaction removes (in ``content`` from room version 11, at the top before)."""
    value = content(event).get("redacts") or event.get("redacts")
    return value if isinstance(value, str) else None


def annotation(event: Event) -> tuple[str, str] | None:
    """A reaction: (the reacted-to event id, the emoji), or None."""
    rel = relation(event)
    target, key = rel.get("event_id"), rel.get("key")
    if rel.get("rel_type") != "m.annotation" or not isinstance(target, str):
        return None
    if not isinstance(key, str) or not key:
        return None
    return target, key


def fresh_join(event: Event, user_id: str) -> bool:
    """``user_id`` joined the room in this event (not a name or avatar change)."""
    if event.get("type") != MEMBER or event.get("state_key") != user_id:
        return False
    if content(event).get("membership") != "join":
        return False
    unsigned = event.get("unsigned")
    previous = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    return not (isinstance(previous, dict) and previous.get("membership") == "join")


def text_of(event: Event) -> tuple[str, str | None]:
    """What the person wrote and the media kind: the body without a reply's quoted fallback,
    and for media only a caption (a bare file name is no text)."""
    body = content(event)
    msgtype = body.get("msgtype")
    text = body.get("body") if isinstance(body.get("body"), str) else ""
    assert isinstance(text, str)
    if reply_target(event) is not None:
        text = _REPLY_FALLBACK.sub("", text, count=1)
    if msgtype in TEXT_TYPES or msgtype == NOTICE:
        return text, None
    kind = MEDIA_TYPES.get(str(msgtype), "document")
    filename = body.get("filename")
    caption = text if isinstance(filename, str) and filename and filename != text else ""
    return caption, kind


def media_ref(event: Event) -> MediaRef | None:
    """The file an ``m.image``/``m.audio``/``m.video``/``m.file`` carries, to download by
    its ``mxc://`` URL; for an encrypted room's attachment, with the key material of the
    event's ``file`` object (decrypted after download). A voice message is an ``m.audio``
    marked ``org.matrix.msc3245.voice``. Locations and stickers carry no file we keep."""
    body = content(event)
    kind = MEDIA_TYPES.get(str(body.get("msgtype")))
    if kind is None or kind == "location":
        return None
    if kind == "audio" and (
        "org.matrix.msc3245.voice" in body or "org.matrix.msc3245.voice.v2" in body
    ):
        kind = "voice"
    encrypted = body.get("file")
    decryption: dict[str, Any] | None = None
    if isinstance(encrypted, dict):
        url = encrypted.get("url")
        decryption = encrypted
    else:
        url = body.get("url")
    if not isinstance(url, str) or not url.startswith("mxc://"):
        return None
    found = body.get("info")
    info: dict[str, Any] = found if isinstance(found, dict) else {}
    size = info.get("size")
    mime = info.get("mimetype")
    duration = info.get("duration")  # milliseconds, in Matrix
    name = body.get("filename") or body.get("body")
    return MediaRef(
        kind,
        url,
        size=size if isinstance(size, int) else None,
        file_name=name if isinstance(name, str) and kind in ("document", "audio") else None,
        mime=mime if isinstance(mime, str) else None,
        duration=duration // 1000 if isinstance(duration, int) else None,
        decryption=decryption,
    )


def latest_text(event: Event) -> tuple[str, str | None]:
    """Like ``text_of``, but the newest edit's text when the server bundled one
    (``unsigned["m.relations"]["m.replace"]``)."""
    text, kind = text_of(event)
    unsigned = event.get("unsigned")
    relations = unsigned.get("m.relations") if isinstance(unsigned, dict) else None
    replace = relations.get("m.replace") if isinstance(relations, dict) else None
    if isinstance(replace, dict):
        new = content(replace).get("m.new_content")
        if isinstance(new, dict) and isinstance(new.get("body"), str):
            text = new["body"] if kind is None else text
    return text, kind


def new_text(event: Event) -> str | None:
    """An edit's new text (``m.new_content``), or None when it carries none."""
    new = content(event).get("m.new_content")
    if isinstance(new, dict) and isinstance(new.get("body"), str):
        return str(new["body"])
    return None


def message_event(room_id: str, event: Event, author_name: str | None) -> MessageEvent | None:
    """The archiver's view of a message event; None for anything that is not a message."""
    if event.get("type") != MESSAGE or is_redacted(event) or is_edit(event):
        return None
    text, kind = latest_text(event)
    return MessageEvent(
        chat=chat(room_id),
        message_id=str(event["event_id"]),
        author=account(str(event["sender"])),
        sent_at=sent_at(event),
        text=text,
        author_name=author_name,
        reply_to=reply_target(event),
        media_kind=kind,
        media=media_ref(event),
    )


_USER_ID = re.compile(r"@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(?::\d+)?")


def mentions(event: Event) -> tuple[AccountRef, ...]:
    """Who a message mentions: ``m.mentions.user_ids`` (intentional mentions), else the
    user ids written in its text (a pill's fallback text is the user id)."""
    body = content(event)
    listed = body.get("m.mentions")
    ids = listed.get("user_ids") if isinstance(listed, dict) else None
    if not isinstance(ids, list) or not ids:
        text = body.get("body") if isinstance(body.get("body"), str) else ""
        ids = _USER_ID.findall(str(text))
    return tuple(account(str(user_id)) for user_id in ids if isinstance(user_id, str))


def poll_start_content(question: str, options: tuple[str, ...]) -> dict[str, Any]:
    """An ``m.poll.start`` (unstable names) with one answer each, results disclosed, and a
    text fallback for clients without polls. Answer ids are the options' positions; commands
    in the texts are written with ``!``, as Matrix residents type them."""
    question = for_matrix(question)
    options = tuple(for_matrix(option) for option in options)
    fallback = "\n".join([question, *(f"{n}. {o}" for n, o in enumerate(options, start=1))])
    return {
        POLL_START: {
            "question": {TEXT_KEY: question, "body": question},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [
                {"id": str(index), TEXT_KEY: option} for index, option in enumerate(options)
            ],
        },
        TEXT_KEY: fallback,
        "body": fallback,
    }


def poll_end_content(start_id: str, text: str) -> dict[str, Any]:
    """The ``m.poll.end`` (unstable names) closing the poll ``start_id``."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
        "org.matrix.msc3381.poll.end": {},
        TEXT_KEY: text,
        "body": text,
    }


def poll_response(event: Event) -> tuple[str, int | None] | None:
    """(the poll's start event id, the chosen option's position; None: taken back) of an
    ``m.poll.response`` in either naming, or None when it is not a readable one."""
    body = content(event)
    relation = body.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    start = relation.get("event_id")
    if not isinstance(start, str):
        return None
    selections = body.get("m.selections")
    if selections is None:
        unstable = body.get("org.matrix.msc3381.poll.response")
        selections = unstable.get("answers") if isinstance(unstable, dict) else None
    if not isinstance(selections, list):
        return None
    if not selections:
        return start, None
    first = selections[0]
    if isinstance(first, str) and first.isdigit():
        return start, int(first)
    return start, -1  # an answer id this bot never offered: counts as none


def for_matrix(text: str) -> str:
    """A chat text as Matrix residents should read it: commands with ``!``."""
    return _COMMAND_MENTION.sub(r"!\1", text)


def notice_content(reply: Reply) -> dict[str, Any]:
    """A reply as an ``m.notice``: plain body, an HTML-escaped ``formatted_body``, the reply
    relation, the addressed person as a mention, and a prompt's reaction answers spelled out."""
    body = for_matrix(reply.text)
    if reply.buttons:
        body += "\n\n" + "   ".join(f"{b.emoji} {b.label}" for b in reply.buttons)
    formatted = html.escape(body, quote=False)
    result: dict[str, Any] = {"msgtype": NOTICE, "body": body}
    mention = reply.mention if reply.mention and reply.mention.platform == PLATFORM else None
    if mention is not None:
        result["m.mentions"] = {"user_ids": [mention.user_id]}
        name = html.escape(reply.mention_name or "", quote=False)
        link = (
            f'<a href="https://matrix.to/#/{html.escape(mention.user_id)}">'
            f"{name or html.escape(mention.user_id, quote=False)}</a>"
        )
        if name and name in formatted:
            formatted = formatted.replace(name, link, 1)
        elif not name:
            formatted = f"{link} {formatted}"
    else:
        result["m.mentions"] = {}
    result["format"] = "org.matrix.custom.html"
    result["formatted_body"] = formatted.replace("\n", "<br>")
    if reply.reply_to:
        result["m.relates_to"] = {"m.in_reply_to": {"event_id": reply.reply_to}}
    return result


def replaced(event: Event) -> bool:
    """The event has been edited: the homeserver bundled an ``m.replace`` with it."""
    unsigned = event.get("unsigned")
    relations = unsigned.get("m.relations") if isinstance(unsigned, dict) else None
    return isinstance(relations, dict) and isinstance(relations.get("m.replace"), dict)


def closed_prompt_content(prompt_id: str, original: Event | None, note: str) -> dict[str, Any]:
    """The edit (``m.replace``) that closes a prompt: its question stays, its answers line
    (the last paragraph) becomes ``note``. The new content keeps the prompt's mention, but
    the edit mentions nobody (its person is not pinged again)."""
    old = content(original) if original is not None else {}
    body = old.get("body") if isinstance(old.get("body"), str) else ""
    formatted = old.get("formatted_body") if isinstance(old.get("formatted_body"), str) else ""
    assert isinstance(body, str) and isinstance(formatted, str)
    question = body.rsplit("\n\n", 1)[0] if "\n\n" in body else ""
    question_html = formatted.rsplit("<br><br>", 1)[0] if "<br><br>" in formatted else ""
    if question and not question_html:
        question_html = html.escape(question, quote=False).replace("\n", "<br>")
    new_body = f"{question}\n\n{note}" if question else note
    note_html = html.escape(note, quote=False)
    new_html = f"{question_html}<br><br>{note_html}" if question_html else note_html
    mentions = old.get("m.mentions")
    new_content: dict[str, Any] = {
        "msgtype": NOTICE,
        "body": new_body,
        "format": "org.matrix.custom.html",
        "formatted_body": new_html,
        "m.mentions": mentions if isinstance(mentions, dict) else {},
    }
    return {
        "msgtype": NOTICE,
        "body": f"* {new_body}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"* {new_html}",
        "m.new_content": new_content,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": prompt_id},
    }


def reaction_content(target: str, emoji: str) -> dict[str, Any]:
    """An ``m.reaction`` annotating ``target`` with ``emoji``."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": emoji}}


def bare(emoji: str) -> str:
    """An emoji without variation selectors (✅ and ✅️ are the same answer)."""
    return emoji.replace("\ufe0f", "").replace("\ufe0e", "")


def image_size(picture: bytes) -> tuple[int, int]:
    """An image's width and height (0, 0 if it cannot be read as one)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(picture)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return 0, 0

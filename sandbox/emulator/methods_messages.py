"""Bot API methods about messages: send, edit, delete, react, answer button presses.

Each method reads its parameters, checks them in the order the Bot API server does (the text
and markup first, then the chat, then the replied-to message, then lengths) and either
returns the JSON result or raises :class:`~sandbox.emulator.errors.ApiError`.
"""

from __future__ import annotations

from typing import Any

from sandbox.emulator import errors, rules
from sandbox.emulator.formatting import prepare_text
from sandbox.emulator.media import check_photo
from sandbox.emulator.model import Chat, Message
from sandbox.emulator.params import Params, UploadedFile
from sandbox.emulator.state import World
from sandbox.emulator.text import Entity, utf16_len

#: Inline keyboard button fields that make a button do something.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_DELETE_WINDOW = 48 * 3600


def _formatted(world: World, p: Params, field: str, *, caption: bool) -> tuple[str, list[Entity]]:
    entities_field = "caption_entities" if caption else "entities"
    return prepare_text(
        p.string(field) or "",
        parse_mode=p.string("parse_mode"),
        entities_param=p.raw.get(entities_field),
        empty=None if caption else errors.TEXT_EMPTY,
        lookup_user=world.user_json,
    )


def _check_length(text: str, *, caption: bool) -> None:
    limit = rules.MAX_CAPTION_LENGTH if caption else rules.MAX_TEXT_LENGTH
    if utf16_len(text) > limit:
        raise errors.bad_request(errors.CAPTION_TOO_LONG if caption else errors.TEXT_TOO_LONG)


def read_reply_markup(p: Params) -> dict[str, Any] | None:
    """The ``reply_markup`` parameter, checked as Telegram checks inline keyboards."""
    markup = p.json("reply_markup", errors.REPLY_MARKUP_UNPARSABLE)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise errors.bad_request(errors.REPLY_MARKUP_UNPARSABLE)
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise errors.bad_request(errors.INLINE_KEYBOARD_NOT_ARRAY)
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise errors.bad_request(errors.BUTTON_TEXT_MISSING)
                if "callback_data" in button:
                    data = str(button["callback_data"]).encode("utf-8")
                    if len(data) > rules.MAX_CALLBACK_DATA_BYTES:
                        raise errors.bad_request(errors.BUTTON_DATA_INVALID)
                elif not any(action in button for action in _BUTTON_ACTIONS):
                    raise errors.bad_request(errors.TEXT_BUTTONS_UNALLOWED)
        if not any(rows):
            return None  # an inline keyboard without buttons is no keyboard
    return markup


def _edited_markup(p: Params) -> dict[str, Any] | None:
    """The keyboard an edit leaves: the one given, or none when ``reply_markup`` is left
    out, empty (``{}``) or a keyboard without buttons — Telegram's way to remove one."""
    markup = read_reply_markup(p)
    return markup if markup else None


def _writable_chat(world: World, p: Params) -> Chat:
    chat = world.find_chat(p.chat_id())
    rules.check_can_write(chat, world.bot)
    return chat


def _reply_target(world: World, chat: Chat, p: Params) -> Message | None:
    """The message to reply to (``reply_parameters`` or ``reply_to_message_id``)."""
    reply_parameters = p.json("reply_parameters", errors.REPLY_PARAMETERS_UNPARSABLE)
    if isinstance(reply_parameters, dict):
        message_id = int(reply_parameters.get("message_id") or 0)
        allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
        target_chat = chat
        if reply_parameters.get("chat_id") not in (None, chat.id, str(chat.id)):
            target_chat = world.find_chat(reply_parameters["chat_id"])
    else:
        message_id = p.integer("reply_to_message_id")
        allow_missing = p.boolean("allow_sending_without_reply")
        target_chat = chat
    if message_id <= 0:
        return None
    target = target_chat.messages.get(message_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise errors.bad_request(errors.REPLY_NOT_FOUND)
    return target


def send_message(world: World, p: Params) -> Any:
    """``sendMessage``."""
    text, entities = _formatted(world, p, "text", caption=False)
    markup = read_reply_markup(p)
    chat = _writable_chat(world, p)
    reply_to = _reply_target(world, chat, p)
    _check_length(text, caption=False)
    message = world.post(
        chat, world.bot, text=text, entities=entities, reply_to=reply_to, reply_markup=markup
    )
    return message.to_api()


def send_photo(world: World, p: Params) -> Any:
    """``sendPhoto`` (an uploaded image, or the ``file_id`` of a stored photo)."""
    photo = p.file("photo")
    if photo is None or photo == "":
        raise errors.bad_request(errors.NO_PHOTO)
    caption, entities = _formatted(world, p, "caption", caption=True)
    markup = read_reply_markup(p)
    chat = _writable_chat(world, p)
    if isinstance(photo, UploadedFile):
        size = check_photo(photo.data)
        stored = world.files.add(
            photo.data,
            kind="photo",
            mime_type=photo.content_type,
            file_name=photo.filename,
            size=size,
        )
    elif photo.startswith(("http://", "https://")):
        raise errors.bad_request(errors.URL_CONTENT_FAILED)
    else:
        found = world.files.get(photo)
        if found is None or found.width is None:
            raise errors.bad_request(errors.WRONG_FILE_ID)
        stored = found
    reply_to = _reply_target(world, chat, p)
    _check_length(caption, caption=True)
    message = world.post(
        chat,
        world.bot,
        photo=[stored.photo_size()],
        caption=caption or None,
        caption_entities=entities,
        reply_to=reply_to,
        reply_markup=markup,
    )
    return message.to_api()


def _own_message(world: World, p: Params, not_found: str) -> Message:
    """The bot's own message named by ``chat_id`` + ``message_id``, for editing."""
    if not p.has("chat_id") and p.has("inline_message_id"):
        raise errors.bad_request(errors.MESSAGE_ID_INVALID)  # inline messages: not emulated
    chat = world.find_chat(p.chat_id())
    if chat.is_group:
        rules.check_is_member(chat, world.bot)
    message_id = p.integer("message_id")
    if message_id <= 0:
        raise errors.bad_request(errors.MESSAGE_ID_EMPTY)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise errors.bad_request(not_found)
    if message.from_user is None or message.from_user.id != world.bot.id:
        raise errors.bad_request(errors.CANT_EDIT)
    return message


def edit_message_text(world: World, p: Params) -> Any:
    """``editMessageText`` (leaving out ``reply_markup`` removes the inline keyboard)."""
    text, entities = _formatted(world, p, "text", caption=False)
    markup = _edited_markup(p)
    message = _own_message(world, p, errors.EDIT_NOT_FOUND)
    if message.text is None:
        raise errors.bad_request(errors.NO_TEXT_TO_EDIT)
    _check_length(text, caption=False)
    if (message.text, message.entities, message.reply_markup) == (text, entities, markup):
        raise errors.bad_request(errors.NOT_MODIFIED)
    message.text, message.entities, message.reply_markup = text, entities, markup
    message.edit_date = world.now()
    return message.to_api()


def edit_message_caption(world: World, p: Params) -> Any:
    """``editMessageCaption``."""
    caption, entities = _formatted(world, p, "caption", caption=True)
    markup = _edited_markup(p)
    message = _own_message(world, p, errors.EDIT_NOT_FOUND)
    if message.photo is None:
        raise errors.bad_request(errors.NO_CAPTION_TO_EDIT)
    _check_length(caption, caption=True)
    current = (message.caption or "", message.caption_entities, message.reply_markup)
    if current == (caption, entities, markup):
        raise errors.bad_request(errors.NOT_MODIFIED)
    message.caption, message.caption_entities = caption or None, entities
    message.reply_markup = markup
    message.edit_date = world.now()
    return message.to_api()


def edit_message_reply_markup(world: World, p: Params) -> Any:
    """``editMessageReplyMarkup`` (no ``reply_markup`` removes the keyboard)."""
    markup = _edited_markup(p)
    message = _own_message(world, p, errors.EDIT_NOT_FOUND)
    if message.reply_markup == markup:
        raise errors.bad_request(errors.NOT_MODIFIED)
    message.reply_markup = markup
    message.edit_date = world.now()
    return message.to_api()


def delete_message(world: World, p: Params) -> Any:
    """``deleteMessage``: the bot's own messages; others' only as a group administrator
    (in a private chat, both sides' messages), within 48 hours. Nobody is told."""
    chat = world.find_chat(p.chat_id())
    membership = rules.check_is_member(chat, world.bot) if chat.is_group else None
    message_id = p.integer("message_id")
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise errors.bad_request(errors.DELETE_NOT_FOUND)
    own = message.from_user is not None and message.from_user.id == world.bot.id
    if membership is not None and not own and not membership.is_admin:
        raise errors.bad_request(errors.CANT_DELETE)
    if world.now() - message.date > _DELETE_WINDOW and not (membership and membership.is_admin):
        raise errors.bad_request(errors.CANT_DELETE_FOR_EVERYONE)
    message.deleted = True
    return True


def set_message_reaction(world: World, p: Params) -> Any:
    """``setMessageReaction``: the bot reacts (at most one reaction, like a non-premium user).
    The bot gets no update about its own reaction."""
    chat = world.find_chat(p.chat_id())
    if chat.is_group:
        rules.check_is_member(chat, world.bot)
    message = chat.messages.get(p.integer("message_id"))
    if message is None or message.deleted:
        raise errors.bad_request(errors.REACT_NOT_FOUND)
    reaction = p.json("reaction", errors.REACTIONS_UNPARSABLE) or []
    if not isinstance(reaction, list) or not all(isinstance(item, dict) for item in reaction):
        raise errors.bad_request(errors.REACTIONS_UNPARSABLE)
    rules.check_reactions(reaction, premium=False)
    if reaction:
        message.reactions[world.bot.id] = reaction
    else:
        message.reactions.pop(world.bot.id, None)
    return True


def answer_callback_query(world: World, p: Params) -> Any:
    """``answerCallbackQuery``: each query can be answered once."""
    query = world.callback_queries.get(p.string("callback_query_id") or "")
    if query is None or query.answered:
        raise errors.bad_request(errors.QUERY_INVALID)
    query.answered = True
    query.answer = {
        "text": p.string("text"),
        "show_alert": p.boolean("show_alert"),
        "url": p.string("url"),
        "cache_time": p.integer("cache_time"),
    }
    return True


def send_chat_action(world: World, p: Params) -> Any:
    """``sendChatAction``."""
    chat = _writable_chat(world, p)
    if (p.string("action") or "") not in _CHAT_ACTIONS:
        raise errors.bad_request(errors.WRONG_ACTION)
    del chat
    return True


METHODS = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "setMessageReaction": set_message_reaction,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
}

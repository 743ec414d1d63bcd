"""Errors the emulated Bot API answers with, worded as Telegram words them.

Every failed call is answered like Telegram answers it: the HTTP status equals ``error_code`` and
the body is ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.
Method implementations raise :class:`ApiError`; the server turns it into that body.

The descriptions below are Telegram's own (from the Bot API server's sources and from what bots
observe in production), so code that matches on them behaves the same here and there.
"""

from __future__ import annotations

from typing import Any

# 400 Bad Request
CHAT_NOT_FOUND = "Bad Request: chat not found"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
USER_NOT_FOUND = "Bad Request: user not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
REACT_NOT_FOUND = "Bad Request: message to react not found"
MESSAGE_ID_EMPTY = "Bad Request: message identifier is not specified"
CANT_EDIT = "Bad Request: message can't be edited"
CANT_DELETE = "Bad Request: message can't be deleted"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
TEXT_BUTTONS_UNALLOWED = "Bad Request: text buttons are unallowed in the inline keyboard"
REPLY_MARKUP_UNPARSABLE = "Bad Request: can't parse reply keyboard markup JSON object"
ENTITIES_UNPARSABLE = "Bad Request: can't parse entities JSON object"
PARSE_ENTITIES_PREFIX = "Bad Request: can't parse entities: "
UNSUPPORTED_PARSE_MODE = "Bad Request: unsupported parse_mode"
NO_PHOTO = "Bad Request: there is no photo in the request"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
INVALID_FILE_ID = "Bad Request: wrong file_id or the file is temporarily unavailable"
FILE_TOO_BIG = "Bad Request: file is too big"
CANT_DELETE_FOR_EVERYONE = "Bad Request: message can't be deleted for everyone"
WRONG_ACTION = "Bad Request: wrong parameter action in request"
MESSAGE_ID_INVALID = "Bad Request: MESSAGE_ID_INVALID"
REPLY_PARAMETERS_UNPARSABLE = "Bad Request: can't parse reply parameters JSON object"
REACTIONS_UNPARSABLE = "Bad Request: can't parse reaction types JSON object"
COMMANDS_UNPARSABLE = "Bad Request: can't parse commands JSON object"
SCOPE_UNPARSABLE = "Bad Request: can't parse BotCommandScope JSON object"
INLINE_KEYBOARD_NOT_ARRAY = (
    'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
)
BUTTON_TEXT_MISSING = (
    'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
)
URL_CONTENT_FAILED = "Bad Request: failed to get HTTP URL content"
IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
PHOTO_INVALID_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
REACTION_INVALID = "Bad Request: REACTION_INVALID"
REACTIONS_TOO_MANY = "Bad Request: REACTIONS_TOO_MANY"
BOT_COMMAND_INVALID = "Bad Request: BOT_COMMAND_INVALID"
NO_ADMINS_IN_PRIVATE = "Bad Request: there are no administrators in the private chat"
PRIVATE_STATUS_UNCHANGEABLE = "Bad Request: chat member status can't be changed in private chats"
INVALID_JSON_BODY = "Bad Request: can't parse JSON"
BAD_WEBHOOK_URL = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"

# 403 Forbidden
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"

# 409 Conflict
CONFLICT_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"

# Others
UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"

#: The description Telegram uses when an error code is given without one.
DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: UNAUTHORIZED,
    403: "Forbidden",
    404: NOT_FOUND,
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """A Bot API call that Telegram would refuse.

    Attributes:
        error_code: the HTTP status and ``error_code`` of the answer.
        description: Telegram's description, e.g. ``"Bad Request: chat not found"``.
        parameters: ``ResponseParameters`` (``retry_after``, ``migrate_to_chat_id``), if any.
    """

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_api(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(description: str) -> ApiError:
    """A 400 answer; ``description`` already starts with ``Bad Request:``."""
    return ApiError(400, description)


def forbidden(description: str) -> ApiError:
    """A 403 answer; ``description`` already starts with ``Forbidden:``."""
    return ApiError(403, description)


def too_many_requests(retry_after: int) -> ApiError:
    """Flood control: ``Too Many Requests: retry after N`` with ``parameters.retry_after``."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def cant_parse_entities(reason: str) -> ApiError:
    """Bad markup in a ``parse_mode`` text, e.g. ``Unsupported start tag "x" at byte offset 0``."""
    return ApiError(400, PARSE_ENTITIES_PREFIX + reason)


def kicked_from(chat_kind: str) -> ApiError:
    """The bot was removed and banned from a group (``chat_kind``: group or supergroup)."""
    return ApiError(403, f"Forbidden: bot was kicked from the {chat_kind} chat")


def not_a_member(chat_kind: str) -> ApiError:
    """The bot left (or was removed from) a group it once knew."""
    return ApiError(403, f"Forbidden: bot is not a member of the {chat_kind} chat")


def error_for_code(
    error_code: int, description: str | None = None, retry_after: int | None = None
) -> ApiError:
    """An error with Telegram's usual wording for ``error_code`` (used by ``fail_next``)."""
    if error_code == 429:
        seconds = 1 if retry_after is None else retry_after
        return ApiError(
            429,
            description or f"Too Many Requests: retry after {seconds}",
            {"retry_after": seconds},
        )
    return ApiError(error_code, description or DEFAULT_DESCRIPTIONS.get(error_code, "Error"))

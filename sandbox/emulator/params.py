"""Request parameters as the Bot API reads them, from any of its accepted encodings.

Telegram accepts parameters in the query string, as ``application/json``, as
``application/x-www-form-urlencoded`` and as ``multipart/form-data``. python-telegram-bot 22
sends a form (urlencoded, or multipart when a file is uploaded) in which strings are sent as
they are and every other value JSON-encoded (``chat_id=-100123``, ``reply_markup={"inline_…``).
So a value's type comes from the parameter it is given for, not from the encoding: the
accessors below read a parameter as the method expects it and remember what they read, so
recorded calls show typed values (``chat_id`` as an int) whatever the encoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.emulator import errors
from sandbox.emulator.errors import ApiError

_INTEGER = re.compile(r"^\s*[-+]?\d+")


@dataclass(frozen=True)
class UploadedFile:
    """A file sent as a part of a ``multipart/form-data`` request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """The parameters of one call, read with typed accessors."""

    def __init__(self, raw: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.raw = raw
        self.files = files
        self.typed: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        """The parameter was given (and is not null)."""
        return self.raw.get(name) is not None or name in self.files

    def _keep(self, name: str, value: Any) -> Any:
        self.typed[name] = value
        return value

    def string(self, name: str) -> str | None:
        """A string parameter (numbers are accepted and converted, as Telegram does)."""
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, str):
            value = json.dumps(value) if isinstance(value, dict | list) else str(value)
        return str(self._keep(name, value))

    def integer(self, name: str, default: int = 0) -> int:
        """An integer parameter; unreadable values read as 0, as Telegram reads them."""
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float):
            number = int(value)
        else:
            match = _INTEGER.match(str(value))
            number = int(match.group()) if match else 0
        return int(self._keep(name, number))

    def boolean(self, name: str) -> bool:
        """A boolean parameter (``true``/``1``; anything else is false)."""
        value = self.raw.get(name)
        if value is None:
            return False
        result = value.strip().lower() in ("true", "1") if isinstance(value, str) else bool(value)
        return bool(self._keep(name, result))

    def json(self, name: str, unparsable: str) -> Any:
        """A JSON-serialised parameter (object or array); ``unparsable`` is the error text."""
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except ValueError:
                raise errors.bad_request(unparsable) from None
        return self._keep(name, value)

    def chat_id(self, name: str = "chat_id") -> int | str:
        """A chat identifier: an integer id or ``@username``.

        Raises:
            ApiError: ``chat_id is empty`` when missing, ``chat not found`` when unreadable.
        """
        value = self.raw.get(name)
        if value is None or value == "":
            raise errors.bad_request(errors.CHAT_ID_EMPTY)
        if isinstance(value, bool):
            raise errors.bad_request(errors.CHAT_NOT_FOUND)
        if isinstance(value, int):
            return int(self._keep(name, value))
        text = str(value).strip()
        if re.fullmatch(r"[-+]?\d+", text):
            return int(self._keep(name, int(text)))
        if text.startswith("@") and len(text) > 1:
            return str(self._keep(name, text))
        raise errors.bad_request(errors.CHAT_NOT_FOUND)

    def file(self, name: str) -> UploadedFile | str | None:
        """An ``InputFile`` parameter: an uploaded part (directly or via ``attach://``), or
        a string (a ``file_id`` or an HTTP URL)."""
        if name in self.files:
            upload = self.files[name]
            self.typed[name] = f"<{len(upload.data)} bytes>"
            return upload
        value = self.string(name)
        if value and value.startswith("attach://"):
            upload_or_none = self.files.get(value[len("attach://") :])
            if upload_or_none is not None:
                self.typed[name] = f"<{len(upload_or_none.data)} bytes>"
            return upload_or_none
        return value

    def recorded(self) -> dict[str, Any]:
        """Everything given, typed where the method read it."""
        merged = dict(self.raw)
        merged.update(self.typed)
        for name, upload in self.files.items():
            merged.setdefault(name, f"<{len(upload.data)} bytes>")
        return merged


async def read_params(request: web.Request) -> Params:
    """Parameters of a request from its query string and body, whatever the encoding.

    Raises:
        ApiError: 400 for a JSON body that is not a JSON object.
    """
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise errors.bad_request(errors.INVALID_JSON_BODY) from None
            if not isinstance(body, dict):
                raise errors.bad_request(errors.INVALID_JSON_BODY)
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = UploadedFile(
                        field=name,
                        filename=value.filename,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                    value.file.close()
                else:
                    raw[name] = value if isinstance(value, str) else bytes(value).decode()
    return Params(raw, files)


def api_error_response(error: ApiError) -> web.Response:
    """The HTTP answer for a refused call."""
    return web.json_response(error.to_api(), status=error.error_code)

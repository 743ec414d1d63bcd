"""Polls: ``sendPoll``, ``stopPoll``, residents answering, ``poll_answer`` and ``poll`` updates.

What the emulator enforces, as the Bot API (10.0, python-telegram-bot 22.8's ``PollLimit``)
does: a question of 1–300 characters; 2–12 options of 1–100 characters each, each with a
``persistent_id``; ``open_period`` 5–2,628,000 seconds; only regular polls (no quizzes here).
``allows_revoting`` (Bot API 9.6) defaults to true for regular polls: a voter may change or take
back their answer; without it, their first answer is final. A bot gets ``poll_answer`` updates
only for its own **non-anonymous** polls — ``option_ids`` (and ``option_persistent_ids``) empty
when a voter takes their answer back — and ``poll`` updates (the new state) for polls it sent.
``stopPoll``: only the bot's own poll, once (``poll has already been closed``). A client cannot
answer a closed poll, nor with an option that does not exist.

(The issue that asked for polls remembered older limits — 10 options, ``open_period`` at most
10 minutes; the emulator follows the current Bot API, docs/governance.md.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.emulator import errors, rules
from sandbox.emulator.model import Message, User
from sandbox.emulator.params import Params
from sandbox.emulator.state import World

MAX_QUESTION = 300
MAX_OPTION = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 12
MIN_OPEN_PERIOD, MAX_OPEN_PERIOD = 5, 2_628_000

QUESTION_EMPTY = "Bad Request: poll question must be non-empty"
QUESTION_TOO_LONG = "Bad Request: poll question length must not exceed 300"
TOO_FEW_OPTIONS = "Bad Request: poll must have at least 2 option"
TOO_MANY_OPTIONS = "Bad Request: poll can't have more than 12 options"
OPTION_EMPTY = "Bad Request: poll options must be non-empty"
OPTION_TOO_LONG = "Bad Request: poll options length must not exceed 100"
OPTIONS_UNPARSABLE = "Bad Request: can't parse options JSON object"
OPEN_PERIOD = "Bad Request: wrong open period specified"
NOT_A_POLL = "Bad Request: message with poll to stop not found"
ALREADY_CLOSED = "Bad Request: poll has already been closed"


@dataclass
class Poll:
    """A poll the bot sent, with every voter's current answer."""

    id: str
    question: str
    options: list[str]
    is_anonymous: bool
    allows_multiple_answers: bool
    allows_revoting: bool
    open_period: int | None
    message: Message | None = None
    is_closed: bool = False
    answers: dict[int, list[int]] = field(default_factory=dict)  # user id → option ids

    def option_id(self, index: int) -> str:
        """The option's ``persistent_id``."""
        return f"{self.id}-{index}"

    def to_api(self) -> dict[str, Any]:
        """The ``Poll`` JSON object."""
        counts = [0] * len(self.options)
        for chosen in self.answers.values():
            for option in chosen:
                counts[option] += 1
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"persistent_id": self.option_id(index), "text": text, "voter_count": count}
                for index, (text, count) in enumerate(zip(self.options, counts, strict=True))
            ],
            "total_voter_count": sum(1 for chosen in self.answers.values() if chosen),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": "regular",
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": False,
        }
        if self.open_period is not None:
            data["open_period"] = self.open_period
        return data


def send_poll(world: World, p: Params) -> Any:
    """``sendPoll``."""
    question = (p.string("question") or "").strip()
    if not question:
        raise errors.bad_request(QUESTION_EMPTY)
    if len(question) > MAX_QUESTION:
        raise errors.bad_request(QUESTION_TOO_LONG)
    raw = p.json("options", OPTIONS_UNPARSABLE)
    if not isinstance(raw, list):
        raise errors.bad_request(TOO_FEW_OPTIONS)
    options = [
        str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in raw
    ]  # InputPollOption objects, or plain strings as older clients send
    if len(options) < MIN_OPTIONS:
        raise errors.bad_request(TOO_FEW_OPTIONS)
    if len(options) > MAX_OPTIONS:
        raise errors.bad_request(TOO_MANY_OPTIONS)
    for option in options:
        if not option.strip():
            raise errors.bad_request(OPTION_EMPTY)
        if len(option) > MAX_OPTION:
            raise errors.bad_request(OPTION_TOO_LONG)
    open_period = p.integer("open_period") if p.has("open_period") else None
    if open_period is not None and not MIN_OPEN_PERIOD <= open_period <= MAX_OPEN_PERIOD:
        raise errors.bad_request(OPEN_PERIOD)
    chat = world.find_chat(p.chat_id())
    rules.check_can_write(chat, world.bot)
    poll = Poll(
        id=world.new_poll_id(),
        question=question,
        options=[o.strip() for o in options],
        is_anonymous=p.boolean("is_anonymous") if p.has("is_anonymous") else True,
        allows_multiple_answers=p.boolean("allows_multiple_answers"),
        allows_revoting=p.boolean("allows_revoting") if p.has("allows_revoting") else True,
        open_period=open_period,
    )
    message = world.post(chat, world.bot, poll=poll)
    poll.message = message
    world.polls[poll.id] = poll
    return message.to_api()


def stop_poll(world: World, p: Params) -> Any:
    """``stopPoll``: the bot closes its own poll; the poll's final state."""
    chat = world.find_chat(p.chat_id())
    message = chat.messages.get(p.integer("message_id"))
    if message is None or message.deleted or message.poll is None:
        raise errors.bad_request(NOT_A_POLL)
    if message.from_user is None or message.from_user.id != world.bot.id:
        raise errors.bad_request(errors.CANT_EDIT)
    poll = message.poll
    if poll.is_closed:
        raise errors.bad_request(ALREADY_CLOSED)
    poll.is_closed = True
    world.queue.push("poll", poll.to_api())
    return poll.to_api()


def answer(world: World, poll: Poll, user: User, option_ids: list[int]) -> None:
    """``user`` answers (``[]``: takes their answer back), as a client would."""
    if poll.is_closed:
        raise ValueError("a closed poll cannot be answered")
    if any(not 0 <= o < len(poll.options) for o in option_ids):
        raise ValueError("no such option")
    if len(option_ids) > 1 and not poll.allows_multiple_answers:
        raise ValueError("the poll allows one answer")
    if user.id in poll.answers and poll.answers[user.id] and not poll.allows_revoting:
        raise ValueError("the poll does not allow changing an answer")
    if not option_ids and not poll.allows_revoting:
        raise ValueError("the poll does not allow taking an answer back")
    poll.answers[user.id] = list(option_ids)
    world.queue.push("poll", poll.to_api())
    if not poll.is_anonymous:
        world.queue.push(
            "poll_answer",
            {
                "poll_id": poll.id,
                "user": user.to_api(),
                "option_ids": list(option_ids),
                "option_persistent_ids": [poll.option_id(o) for o in option_ids],
            },
        )


METHODS = {"sendPoll": send_poll, "stopPoll": stop_poll}

"""The bot's questions: consent ("may we keep what you write?"), keep ("may we keep this
message?") and forget confirmation.

A prompt is recorded before it is sent and names the one account that may answer it. The
answer arrives as a button press (Telegram) or a reaction on the prompt (Matrix), maybe after a
restart; ``answer_prompt`` checks the answerer and applies the answer. Anyone else's answer
raises ``NotYourPromptError`` and changes nothing. A prompt takes one answer: once answered it
is closed (the adapters then take its buttons or answer line away), and a second answer
changes nothing — a person who changes their mind says so with ``consent`` again.

A *shared* consent prompt (its subject's user id is ``EVERYONE``, e.g. ``telegram:*``) is the
one-tap answers under the bot's greeting in a group: whoever answers it answers for themself
only, on the same platform; it never closes, and each answer is recorded under its own person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from archiver.archive import Archive
from archiver.community import space_for
from archiver.consent import (
    Actor,
    Attribution,
    ConsentChange,
    Level,
    Method,
    set_attribution,
    set_level,
)
from archiver.errors import ConsentError, NotFoundError, NotYourPromptError
from archiver.events import AccountRef, ChatRef
from archiver.forget import ForgetReport, forget_person
from archiver.preservation import answer_keep_prompt
from storage import communities, people
from storage import prompts as prompt_store
from storage.models import Prompt


class PromptKind(StrEnum):
    """What a prompt asks."""

    CONSENT = "consent"
    KEEP = "keep"
    FORGET = "forget"


EVERYONE = "*"
"""The user id of a shared prompt's subject: no platform account is ever called ``*``."""


def everyone_on(platform: str) -> AccountRef:
    """The subject of a shared consent prompt on ``platform``."""
    return AccountRef(platform, EVERYONE)


ANSWERS: dict[PromptKind, tuple[str, ...]] = {
    PromptKind.CONSENT: ("all", "tagged", "none", "named", "anonymous"),
    PromptKind.KEEP: ("yes", "no"),
    PromptKind.FORGET: ("yes", "no"),
}


@dataclass(frozen=True, slots=True)
class PromptInfo:
    """A recorded prompt."""

    id: int
    kind: PromptKind
    community_id: str
    subject: AccountRef
    target_message_id: str | None
    answer: str | None

    @property
    def shared(self) -> bool:
        """A consent prompt for whoever answers it (see the module doc)."""
        return self.subject.user_id == EVERYONE


@dataclass(frozen=True, slots=True)
class PromptAnswer:
    """What an answer did. ``change`` for consent, ``kept`` for keep (True: released,
    False: destroyed), ``forgotten`` for a confirmed forget."""

    prompt: PromptInfo
    answer: str
    change: ConsentChange | None = None
    kept: bool | None = None
    forgotten: ForgetReport | None = None


def _info(row: Prompt) -> PromptInfo:
    assert row.id is not None
    return PromptInfo(
        id=row.id,
        kind=PromptKind(row.kind),
        community_id=row.community_id,
        subject=AccountRef.parse(row.subject),
        target_message_id=row.target_message_id,
        answer=row.answer,
    )


def create_prompt(
    archive: Archive,
    chat: ChatRef | None,
    kind: PromptKind,
    subject: AccountRef,
    *,
    community_id: str | None = None,
    target_message_id: str | None = None,
) -> PromptInfo:
    """Record a prompt for ``subject`` (before sending it): in a community's ``chat``, or —
    with ``chat=None`` and ``community_id`` — in a private chat about that community."""
    with archive.db.write() as session:
        space_id = None
        if chat is not None:
            space = space_for(session, chat)
            space_id, community_id = space.id, space.community_id
        assert community_id is not None, "a private prompt names its community"
        row = prompt_store.add_prompt(
            session,
            Prompt(
                community_id=community_id,
                space_id=space_id,
                kind=kind.value,
                subject=subject.key,
                target_message_id=target_message_id,
                created_at=datetime.now(UTC),
            ),
        )
        return _info(row)


def attach_message(archive: Archive, prompt_id: int, platform_message_id: str) -> None:
    """Remember the bot's message that carries the prompt (Matrix answers react to it)."""
    with archive.db.write() as session:
        prompt_store.set_prompt_message(session, prompt_id, platform_message_id)


def prompt_for_message(
    archive: Archive, chat: ChatRef, platform_message_id: str
) -> PromptInfo | None:
    """The prompt the bot posted as this message in a community chat, or None."""
    with archive.db.read() as session:
        space = communities.get_space(session, chat.platform, chat.chat_id)
        if space is None or space.id is None:
            return None
        row = prompt_store.prompt_for_message(session, space.id, platform_message_id)
        return _info(row) if row is not None else None


def get_prompt(archive: Archive, prompt_id: int) -> PromptInfo | None:
    """The prompt with this id."""
    with archive.db.read() as session:
        row = prompt_store.get_prompt(session, prompt_id)
        return _info(row) if row is not None else None


def answer_prompt(
    archive: Archive,
    prompt_id: int,
    answer: str,
    *,
    actor: AccountRef,
    method: Method,
    chat: ChatRef | None = None,
    display_name: str | None = None,
) -> PromptAnswer:
    """Apply ``actor``'s answer to a prompt. Only the prompt's subject may answer: anyone
    else raises ``NotYourPromptError`` and nothing changes. Every prompt is answered once: a
    second answer raises ``NotFoundError`` (closed) and changes nothing."""
    prompt = get_prompt(archive, prompt_id)
    if prompt is None:
        raise NotFoundError("that question is no longer open")
    if prompt.shared and prompt.kind is PromptKind.CONSENT:
        if actor.platform != prompt.subject.platform or actor.user_id == EVERYONE:
            raise NotYourPromptError(prompt.subject.key, actor.key)
        if answer not in ANSWERS[prompt.kind]:
            raise ConsentError(f"{answer!r} is not an answer to a consent question")
        # The answerer's own choice, as if they typed it; the prompt stays open for others.
        return _apply(archive, prompt, answer, actor, method, chat, display_name)
    if actor != prompt.subject:
        raise NotYourPromptError(prompt.subject.key, actor.key)
    if answer not in ANSWERS[prompt.kind]:
        raise ConsentError(f"{answer!r} is not an answer to a {prompt.kind.value} question")
    if prompt.answer is not None:
        raise NotFoundError("that question was already answered")
    try:
        result = _apply(archive, prompt, answer, actor, method, chat, display_name)
    except NotFoundError:
        if prompt.kind is PromptKind.KEEP:
            _mark_from_ledger(archive, prompt)
        raise
    with archive.db.write() as session:
        row = prompt_store.get_prompt(session, prompt_id)
        assert row is not None
        prompt_store.mark_answered(session, row, answer, datetime.now(UTC))
    return result


def _mark_from_ledger(archive: Archive, prompt: PromptInfo) -> None:
    """A keep prompt whose held copy is gone: if its person answered about the message since
    it was asked — by this very answer, applied just before a crash and now delivered again,
    or by tagging their own message — the prompt is marked with that answer, so it closes as
    answered. Gone without an answer (timeout, ``none``) it stays unmarked: closed, unanswered."""
    with archive.db.write() as session:
        row = prompt_store.get_prompt(session, prompt.id)
        if row is None or row.answer is not None:
            return
        person = people.find_person(
            session, prompt.community_id, prompt.subject.platform, prompt.subject.user_id
        )
        if person is None or person.id is None:
            return
        given = prompt_store.message_answer_since(session, row, person.id)
        if given is not None:
            prompt_store.mark_answered(session, row, given, datetime.now(UTC))


def _apply(
    archive: Archive,
    prompt: PromptInfo,
    answer: str,
    actor: AccountRef,
    method: Method,
    chat: ChatRef | None,
    display_name: str | None,
) -> PromptAnswer:
    if prompt.kind is PromptKind.CONSENT:
        if answer in ("named", "anonymous"):
            change = set_attribution(
                archive,
                prompt.community_id,
                actor,
                Attribution(answer),
                actor=Actor(actor),
                method=method,
                display_name=display_name,
            )
        else:
            change = set_level(
                archive,
                prompt.community_id,
                actor,
                Level(answer),
                actor=Actor(actor),
                method=method,
                display_name=display_name,
            )
        return PromptAnswer(prompt, answer, change=change)
    if prompt.kind is PromptKind.KEEP:
        assert prompt.target_message_id is not None and chat is not None
        kept = answer_keep_prompt(
            archive, chat, prompt.target_message_id, answer == "yes", actor=actor, method=method
        )
        return PromptAnswer(prompt, answer, kept=kept)
    if answer == "yes":
        report = forget_person(archive, prompt.community_id, actor, actor=Actor(actor))
        return PromptAnswer(prompt, answer, forgotten=report)
    return PromptAnswer(prompt, answer)

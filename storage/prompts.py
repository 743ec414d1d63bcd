"""The bot's questions and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ConsentEvent, Prompt


def add_prompt(session: Session, prompt: Prompt) -> Prompt:
    """Record a question before it is sent."""
    session.add(prompt)
    session.flush()
    return prompt


def get_prompt(session: Session, prompt_id: int) -> Prompt | None:
    """The prompt with this id."""
    return session.get(Prompt, prompt_id)


def prompt_for_message(
    session: Session, space_id: int | None, platform_message_id: str
) -> Prompt | None:
    """The prompt the bot posted as this message in this space, if it is one."""
    return session.exec(
        select(Prompt).where(
            col(Prompt.space_id).is_(None) if space_id is None else Prompt.space_id == space_id,
            Prompt.platform_message_id == platform_message_id,
        )
    ).first()


def set_prompt_message(session: Session, prompt_id: int, platform_message_id: str) -> None:
    """Remember which message of the bot carries the prompt."""
    prompt = session.get(Prompt, prompt_id)
    if prompt is not None:
        prompt.platform_message_id = platform_message_id
        session.add(prompt)


def mark_answered(session: Session, prompt: Prompt, answer: str, at: datetime) -> None:
    """Record the answer (the first valid one wins)."""
    prompt.answer = answer
    prompt.answered_at = at
    session.add(prompt)


def message_answer_since(session: Session, prompt: Prompt, person_id: int) -> str | None:
    """The answer ("yes"/"no") ``person_id`` gave about a keep prompt's message since the
    prompt was asked, from the ledger; None if they gave none."""
    entry = session.exec(
        select(ConsentEvent)
        .where(
            ConsentEvent.person_id == person_id,
            ConsentEvent.field == "message",
            ConsentEvent.space_id == prompt.space_id,
            ConsentEvent.platform_message_id == prompt.target_message_id,
            ConsentEvent.at >= prompt.created_at,
        )
        .order_by(col(ConsentEvent.id).desc())
    ).first()
    return entry.new_value if entry is not None else None

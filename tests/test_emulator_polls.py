"""The emulator's polls, driven by a real ``telegram.Bot``: Telegram's limits, answers and
taken-back answers as ``poll_answer`` updates (only for non-anonymous polls), ``stopPoll``."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest

from sandbox.emulator import BotApiEmulator, Chat, User
from tests.test_emulator import emu, people, raw_bot  # noqa: F401  (fixtures)

ALLOWED = ["message", "poll", "poll_answer"]


async def test_answers_arrive_as_poll_answer_updates_and_stop_poll_closes(
    emu: BotApiEmulator,  # noqa: F811
    people: tuple[User, User, Chat],  # noqa: F811
) -> None:
    alice, bob, group = people
    emu.add_bot_to_group(group, by=alice)
    async with raw_bot(emu) as bot:
        await bot.get_updates(allowed_updates=ALLOWED)  # the join, and the filter set
        await bot.get_updates(offset=-1)
        sent = await bot.send_poll(group.id, "Keep photos?", ["yes", "no"], is_anonymous=False)
        assert sent.poll is not None and not sent.poll.is_anonymous
        [message] = [m for m in emu.messages(group) if m.poll is not None]
        emu.user_answers_poll(alice, message, 0)
        emu.user_answers_poll(bob, message, 1)
        emu.user_answers_poll(bob, message)  # taken back
        emu.user_answers_poll(bob, message, 0)
        with pytest.raises(ValueError, match="no such option"):
            emu.user_answers_poll(alice, message, 2)
        updates = await bot.get_updates(allowed_updates=ALLOWED)
        answers = [
            (u.poll_answer.user.id, tuple(u.poll_answer.option_ids))
            for u in updates
            if u.poll_answer is not None
        ]
        assert answers == [(alice.id, (0,)), (bob.id, (1,)), (bob.id, ()), (bob.id, (0,))]
        assert any(u.poll is not None for u in updates), "the bot's own poll's new state"

        stopped = await bot.stop_poll(group.id, sent.message_id)
        assert stopped.is_closed and [o.voter_count for o in stopped.options] == [2, 0]
        with pytest.raises(BadRequest, match="already been closed"):
            await bot.stop_poll(group.id, sent.message_id)
        with pytest.raises(ValueError, match="closed"):
            emu.user_answers_poll(alice, message, 0)


async def test_anonymous_polls_send_no_answers_and_limits_are_telegrams(
    emu: BotApiEmulator,  # noqa: F811
    people: tuple[User, User, Chat],  # noqa: F811
) -> None:
    alice, _bob, group = people
    emu.add_bot_to_group(group, by=alice)
    async with raw_bot(emu) as bot:
        await bot.get_updates(allowed_updates=ALLOWED)
        await bot.get_updates(offset=-1)
        await bot.send_poll(group.id, "Anonymous?", ["a", "b"])
        [message] = [m for m in emu.messages(group) if m.poll is not None]
        emu.user_answers_poll(alice, message, 1)
        updates = await bot.get_updates(allowed_updates=ALLOWED)
        assert [u for u in updates if u.poll_answer is not None] == []
        final = await bot.send_poll(group.id, "Final?", ["a", "b"], allows_revoting=False)
        assert final.poll is not None and not final.poll.allows_revoting
        [closed_message] = [m for m in emu.messages(group) if m.poll and m.poll.id == final.poll.id]
        emu.user_answers_poll(alice, closed_message, 0)
        with pytest.raises(ValueError, match="changing"):
            emu.user_answers_poll(alice, closed_message, 1)
        for question, options, kwargs, error in (
            ("Q", ["only one"], {}, "at least 2"),
            ("Q", [str(n) for n in range(13)], {}, "more than 12"),
            ("x" * 301, ["a", "b"], {}, "question length"),
            ("Q", ["a", "b" * 101], {}, "options length"),
            ("Q", ["a", "b"], {"open_period": 4}, "open period"),
        ):
            with pytest.raises(BadRequest, match=error):
                await bot.send_poll(group.id, question, options, **kwargs)

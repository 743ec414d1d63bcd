"""The live part of the demo: scripted residents talk to the real bot.

The real ``community-memory run`` machinery (``run_bots``: python-telegram-bot's
``Application``, our adapter, router and archive) runs against the project's Bot API emulator
on 127.0.0.1 — no network, no token. Each step waits until the bot has handled the update and
then prints what the bot said, so the conversation reads as it happened.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from rich.console import Console

from bot.app.config import CommunityConfig, Config, SpaceConfig, StorageConfig, TelegramConfig
from bot.app.runner import run_bots
from sandbox.emulator import BotApiEmulator
from sandbox.emulator.model import Chat, Message, User

BOT_USERNAME = "sunshine_memory_bot"


@dataclass
class LiveResult:
    """What the live chat left in the archive, by platform message id."""

    group_id: str
    kept_expected: list[int] = field(default_factory=list)
    refused_texts: list[str] = field(default_factory=list)


class _Script:
    """Residents' actions, each followed by the bot's answers as they arrive."""

    def __init__(self, emu: BotApiEmulator, group: Chat, console: Console) -> None:
        self.emu = emu
        self.group = group
        self.console = console
        self.seen = emu.mark()

    async def settle(self) -> None:
        """Wait until the bot has handled everything, then print what it did."""
        await self.emu.wait_until_confirmed(timeout=20)
        for call in self.emu.calls[self.seen :]:
            if call.method == "sendMessage" and call.ok:
                where = "" if call.params.get("chat_id") == self.group.id else " (私信)"
                self.console.print(f"  [cyan]🤖 社区记忆{where}[/]: ", end="")
                self.console.print(_plain(call.params.get("text", "")), markup=False)
                markup = call.params.get("reply_markup") or {}
                labels = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
                if labels:
                    self.console.print("      [" + " | ".join(labels) + "]", markup=False)
            elif call.method == "answerCallbackQuery" and call.ok:
                alert = "弹窗" if call.params.get("show_alert") else "提示"
                self.console.print(f"      ({alert}) {call.params.get('text', '')}", markup=False)
        self.seen = self.emu.mark()

    async def say(self, user: User, words: str, reply_to: Message | None = None) -> Message:
        """A resident writes in the group."""
        arrow = f" ↪ 回复 #{reply_to.message_id}" if reply_to else ""
        message = self.emu.user_sends(self.group, user, words, reply_to=reply_to)
        self.console.print(f"[bold]{user.first_name}[/]{arrow}: ", end="")
        self.console.print(words, markup=False)
        await self.settle()
        return message

    async def press(self, user: User, label: str) -> None:
        """A resident presses the newest button with this label."""
        for message in reversed(self.emu.bot_messages(self.group)):
            markup = message.reply_markup or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        self.console.print(f"[bold]{user.first_name}[/] 按了「{label}」")
                        self.emu.user_presses(user, message, button["callback_data"])
                        await self.settle()
                        return
        raise LookupError(f"no button {label!r}")

    async def react(self, user: User, message: Message, emoji: str) -> None:
        """A resident reacts to a message."""
        self.console.print(f"[bold]{user.first_name}[/] 给 #{message.message_id} 点了 {emoji}")
        self.emu.user_reacts(user, message, emoji)
        await self.settle()


async def live_chat(database_url: str, community: CommunityConfig, console: Console) -> LiveResult:
    """Run the scripted chat; the archive at ``database_url`` keeps what residents allowed."""
    async with BotApiEmulator(bot_username=BOT_USERNAME, privacy_mode=False) as emu:
        wang = emu.add_user("王阿姨", language_code="zh")
        li = emu.add_user("李师傅", language_code="zh")
        zhang = emu.add_user("张老师", language_code="zh")
        liu = emu.add_user("小刘", language_code="zh")
        emma = emu.add_user("Emma", language_code="en")
        group = emu.create_group("阳光花园邻里群", members=[wang, li, zhang, liu, emma])
        config = Config(
            storage=StorageConfig(url=database_url),
            telegram=TelegramConfig(token=emu.token, base_url=emu.base_url),
            communities=[
                community.model_copy(
                    update={
                        "spaces": [
                            *community.spaces,
                            SpaceConfig(platform="telegram", chat=str(group.id)),
                        ]
                    }
                )
            ],
        )
        stop = asyncio.Event()
        bots = asyncio.create_task(run_bots(config, stop=stop))
        try:
            await emu.wait_until_polling(timeout=20)
            script = _Script(emu, group, console)
            result = await _conversation(script, wang, li, zhang, liu, emma)
        finally:
            stop.set()
            await bots
        result.group_id = str(group.id)
        return result


async def _conversation(
    s: _Script, wang: User, li: User, zhang: User, liu: User, emma: User
) -> LiveResult:
    result = LiveResult(group_id=str(s.group.id))
    s.console.print("[dim]王阿姨把社区记忆加进群，并设为管理员（这样它能看到表情回应）[/]")
    s.emu.add_bot_to_group(s.group, by=wang, admin=True)
    await s.settle()

    await s.say(wang, "大家早上好！今天电梯又停了，我走了十层楼。")
    await s.press(wang, "全部保存")
    refused = "我去看看，物业说下午修好。"
    await s.say(li, refused)
    result.refused_texts.append(refused)
    await s.press(liu, "不保存")  # 小刘 presses 李师傅's button: not his question
    await s.press(li, "不保存")
    meeting = await s.say(wang, "谢谢李师傅！下午三点在花园开会，商量电梯的事。")
    petition = await s.say(emma, "I'll bring the petition for the lift repairs.")
    await s.say(zhang, "/keep 电梯之战", reply_to=petition)
    await s.press(emma, "可以保存")
    await s.react(liu, meeting, "✍")
    await s.say(zhang, "/search 电梯")
    oops = await s.say(wang, "我家门锁密码是1234，谁帮我看看猫？")
    await s.say(wang, "/forget", reply_to=oops)
    result.refused_texts.append("我家门锁密码是1234")
    await s.say(emma, "/mydata")
    s.console.print("[dim]王阿姨 opens a private chat with the bot and presses Start[/]")
    s.emu.user_starts_bot(wang)
    await s.settle()
    await s.say(wang, "/mydata")
    await s.say(zhang, "/stories")
    result.kept_expected = [meeting.message_id, petition.message_id]
    return result


def _plain(text: str) -> str:
    """The bot's HTML as a resident's client shows it."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

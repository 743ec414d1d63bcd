"""The shared command router: one behaviour for every platform.

Adapters hand over platform-neutral ``Incoming`` messages, reactions and button presses; the
router parses ``/cmd``, ``!cmd`` and ``/cmd@botname``, calls the archiver, and returns
``Reply``s in the community's language. Every decision about what is stored is the
archiver's; the router only decides what to say.

The router is synchronous (the archiver and the database are): adapters call it off the event
loop, one update at a time, in the order the platform delivered them.
"""

from __future__ import annotations

import calendar
import functools
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from archiver.archive import Archive
from archiver.community import (
    CommunitySettings,
    adopt_chat,
    communities_of_account,
    community_of_chat,
    load_community,
    set_chat_active,
)
from archiver.consent import (
    Actor,
    Attribution,
    Level,
    Method,
    consent_of,
    mark_prompted,
    shown_as,
)
from archiver.consent import set_attribution as archive_set_attribution
from archiver.consent import set_level as archive_set_level
from archiver.consent import set_public as archive_set_public
from archiver.digest import build_digest, render
from archiver.errors import (
    CommunityMemoryError,
    ConsentError,
    NotFoundError,
    NotYourPromptError,
)
from archiver.events import (
    AccountRef,
    ChatRef,
    DeleteEvent,
    EditEvent,
    MediaRef,
    TagEvent,
    TagMethod,
)
from archiver.forget import forget_message
from archiver.ingest import delete_message, edit_message, ingest_message
from archiver.links import CODE_MINUTES, LinkError, link_with_code, new_code
from archiver.media_files import FileOutcome, keep_file, wants_file
from archiver.mydata import what_we_hold
from archiver.paper_forms import PaperFormError, record_paper_form
from archiver.policy import STEWARD_CHANGES, PolicyValueError, change_steward, current_policy
from archiver.preservation import TagOutcome, TagResult, list_stories, tag_message, unkeep
from archiver.prompts import (
    PromptAnswer,
    PromptInfo,
    PromptKind,
    answer_prompt,
    attach_message,
    create_prompt,
    everyone_on,
    get_prompt,
    prompt_for_message,
)
from archiver.reactions import is_keep, keep_emoji
from archiver.recall import KeptMessage, on_this_day, search, story_messages
from archiver.stewards import Appointment, appoint_stewards, stewards_of
from archiver.votes import ANSWERS as VOTE_ANSWERS
from archiver.votes import (
    Closed,
    VoteError,
    VoteRules,
    answer,
    open_votes,
    person_account,
    poll_failed,
    poll_sent,
    polls_wanted,
    propose,
)
from archiver.votes import Result as VoteResult
from bot.chat.messages import (
    Button,
    ButtonResult,
    Incoming,
    PollRequest,
    Reaction,
    Reply,
    button_data,
)
from bot.chat.messages import parse_button_data as decode_button
from bot.chat.texts import CATALOGUES, text

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^[/!]([A-Za-z]+)(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
# A reply carrying one of these tags the replied-to message, like `keep` (any case for #keep).
KEEP_HASHTAG = re.compile(r"(?<![\w#])#(?:keep|留存|记住)(?![\w])", re.IGNORECASE)
COMMANDS = frozenset(
    (
        "help",
        "start",
        "consent",
        "keep",
        "unkeep",
        "forget",
        "mydata",
        "search",
        "onthisday",
        "digest",
        "stories",
        "story",
        "propose",
        "policy",
        "stewards",
        "unsteward",
        "link",
        "record",
    )
)
# Matrix answers prompts with reactions: DESIGN.md fixes these three.
YES, TAGGED, NO = "✅", "📌", "❌"
REACTION_ANSWERS: dict[PromptKind, dict[str, str]] = {
    PromptKind.CONSENT: {YES: "all", TAGGED: "tagged", NO: "none"},
    PromptKind.KEEP: {YES: "yes", NO: "no"},
    PromptKind.FORGET: {YES: "yes", NO: "no"},
}
# How a closed prompt names the answer it got: the label of its button (texts catalogue key).
ANSWER_LABELS: dict[PromptKind, dict[str, str]] = {
    PromptKind.CONSENT: {a: f"button_{a}" for a in ("all", "tagged", "none", "named", "anonymous")},
    PromptKind.KEEP: {"yes": "button_yes_keep", "no": "button_no_keep"},
    PromptKind.FORGET: {"yes": "button_yes_forget", "no": "button_no_forget"},
}
PRIVATE_COMMANDS = ("help", "start", "consent", "mydata", "forget", "link")
SEARCH_RESULTS = 5
MEMORIES = 3
SNIPPET = 80
POLL_QUESTION_MAX = 300  # Telegram's limit for a poll's question
# At most ASK_BURST unprompted consent questions per chat within ASK_WINDOW_S (``_may_ask``).
ASK_BURST = 3
ASK_WINDOW_S = 600.0


# What a recalled message carried, shown before its text in search results and memories.
MEDIA_MARKS = {
    "photo": "📷",
    "video": "🎬",
    "video_note": "🎬",
    "animation": "🎬",
    "voice": "🎤",
    "audio": "🎵",
    "document": "📎",
}


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its name (lower-cased) and the rest of the line."""

    name: str
    args: str


def parse_command(message: str, bot_username: str | None) -> Command | None:
    """``/cmd args``, ``!cmd args`` or ``/cmd@bot args``; None for anything else, including a
    command addressed to another bot."""
    match = COMMAND.match(message.strip())
    if not match:
        return None
    name, addressee, args = match.groups()
    if addressee and (not bot_username or addressee.lower() != bot_username.lower()):
        return None
    return Command(name.lower(), (args or "").strip())


CONSENT_CHOICES = ("all", "tagged", "none", "named", "anonymous", "public", "private")


def _consent_words() -> dict[str, str]:
    """What a resident may type after ``consent`` → the choice: the choices themselves, the
    button and level labels and the ``consent_words_*`` of every catalogue (a Chinese speaker
    in an English-speaking community types Chinese)."""
    words: dict[str, str] = {}
    for catalogue in CATALOGUES.values():
        for choice in CONSENT_CHOICES:
            words[choice] = choice
            for key in (f"button_{choice}", f"level_{choice}", f"consent_words_{choice}"):
                for word in catalogue.get(key, "").split():
                    words.setdefault(word.lower(), choice)
    return words


_CONSENT_WORDS = _consent_words()


def consent_choice(args: str) -> str:
    """The choice in ``consent ARGS`` (``all`` … ``anonymous``) from its first word in any
    language (``全部``, ``匿名``, ``不保存`` …); the word itself when it is none of them, and ""
    when there is none."""
    words = args.split()
    if not words:
        return ""
    first = words[0].lower()
    return _CONSENT_WORDS.get(first, first)


class Router:
    """Turns what residents do into archiver calls and replies (see the module docstring)."""

    def __init__(
        self,
        archive: Archive,
        *,
        bot_usernames: dict[str, str] | None = None,
        today: Callable[[str], date] | None = None,
        clock: Callable[[], float] = time.monotonic,
        vote_opened: Callable[[], None] | None = None,
        configured: Sequence[CommunitySettings] = (),
    ) -> None:
        self.archive = archive
        # The config's communities: what is not stored with a community (its vote rules)
        # comes from here; a community no config lists has the defaults.
        self._configured = {settings.id: settings for settings in configured}
        # Called (from a worker thread) once a vote's poll is in the chat it was proposed in,
        # so its other chats get theirs now rather than at the next check (``tend_votes``).
        self.vote_opened = vote_opened
        self.bot_usernames = bot_usernames or {}
        self._today = today or (lambda zone: datetime.now(ZoneInfo(zone)).date())
        self._settings: dict[str, CommunitySettings] = {}
        # Chat → community: a chat never changes community, so a found answer stays true.
        self._chats: dict[ChatRef, str] = {}
        # Chat → when the bot last asked someone there unprompted (see ``_may_ask``).
        self._asked_at: dict[ChatRef, deque[float]] = {}
        self._clock = clock

    # --- helpers ---------------------------------------------------------------------------

    def _may_ask(self, chat: ChatRef) -> bool:
        """Whether the bot may ask someone in ``chat`` unprompted now: at most ``ASK_BURST``
        questions per chat within ``ASK_WINDOW_S``, so that a big group the bot just joined is
        not flooded with them. Whoever is not asked now (and not marked as asked) is asked
        when they next speak or join after the pause; meanwhile the greeting's answers and
        ``consent`` are there for everyone."""
        recent = self._asked_at.setdefault(chat, deque(maxlen=ASK_BURST))
        return len(recent) < ASK_BURST or self._clock() - recent[0] >= ASK_WINDOW_S

    def _ask_unprompted(
        self,
        chat: ChatRef,
        settings: CommunitySettings,
        person: AccountRef,
        name: str | None,
        reply_to: str | None,
    ) -> list[Reply]:
        """Ask ``person`` once, unprompted, if the chat's pace allows and nobody asked yet."""
        if not self._may_ask(chat) or not mark_prompted(self.archive, settings.id, person):
            return []
        self._asked_at[chat].append(self._clock())
        return [self._consent_prompt(chat, settings, person, name, reply_to, chat)]

    def settings(self, community_id: str) -> CommunitySettings:
        """The community's settings (cached: they change only with the config, at restart)."""
        if community_id not in self._settings:
            stored = load_community(self.archive, community_id)
            given = self._configured.get(community_id)
            if given is not None:
                stored = replace(
                    stored,
                    memory_repeat_days=given.memory_repeat_days,
                    on_this_day_month_fallback=given.on_this_day_month_fallback,
                    quiet_digest=given.quiet_digest,
                    vote_quorum_percent=given.vote_quorum_percent,
                    vote_min_voters=given.vote_min_voters,
                    vote_hours=given.vote_hours,
                )
            self._settings[community_id] = stored
        return self._settings[community_id]

    def _community_of(self, chat: ChatRef) -> str | None:
        """The community of a chat, or None for a chat no community lists (cached)."""
        found = self._chats.get(chat)
        if found is None:
            found = community_of_chat(self.archive, chat)
            if found is not None:
                self._chats[chat] = found
        return found

    def keep_emoji_of(self, chat: ChatRef) -> str | None:
        """The keep emoji its community chose, for a chat; None when no community lists it."""
        community_id = self._community_of(chat)
        return self.settings(community_id).keep_emoji if community_id else None

    def _community(self, chat: ChatRef, title: str | None) -> CommunitySettings:
        community_id = self._community_of(chat) or adopt_chat(self.archive, chat, title)
        return self.settings(community_id)

    @staticmethod
    def _t(settings: CommunitySettings, key: str, **values: object) -> str:
        return text(settings.language, key, community=settings.name, **values)

    def _buttons(self, settings: CommunitySettings, prompt: PromptInfo) -> tuple[Button, ...]:
        spec = {
            PromptKind.CONSENT: (
                ("button_all", "all", YES),
                ("button_tagged", "tagged", TAGGED),
                ("button_none", "none", NO),
            ),
            PromptKind.KEEP: (("button_yes_keep", "yes", YES), ("button_no_keep", "no", NO)),
            PromptKind.FORGET: (
                ("button_yes_forget", "yes", YES),
                ("button_no_forget", "no", NO),
            ),
        }[prompt.kind]
        return tuple(
            Button(self._t(settings, key), button_data(prompt.id, answer), emoji)
            for key, answer, emoji in spec
        )

    def _consent_prompt(
        self,
        chat: ChatRef | None,
        settings: CommunitySettings,
        subject: AccountRef,
        name: str | None,
        reply_to: str | None,
        reply_chat: ChatRef,
    ) -> Reply:
        prompt = create_prompt(
            self.archive, chat, PromptKind.CONSENT, subject, community_id=settings.id
        )
        return Reply(
            chat=reply_chat,
            text=self._t(
                settings,
                "consent_prompt",
                hello=self._t(settings, "hello_name", name=name)
                if name
                else self._t(settings, "hello"),
            ),
            reply_to=reply_to,
            buttons=self._buttons(settings, prompt),
            prompt_id=prompt.id,
            mention=subject,
            mention_name=name,
        )

    def _show(self, settings: CommunitySettings, message: KeptMessage) -> str:
        body = " ".join(message.text.split())
        if len(body) > SNIPPET:
            body = body[:SNIPPET] + "…"
        mark = MEDIA_MARKS.get(message.media_kind or "")
        if mark:
            body = f"{mark} {body}" if body else mark
        return self._t(
            settings,
            "result_line",
            date=message.sent_at.strftime("%Y-%m-%d"),
            author=message.author or self._t(settings, "neighbour"),
            text=body,
        )

    # --- group and private messages ---------------------------------------------------------

    def on_message(self, incoming: Incoming) -> list[Reply]:
        """A message in a group or a private chat."""
        username = self.bot_usernames.get(incoming.chat.platform)
        command = parse_command(incoming.text, username)
        if command is not None and command.name not in COMMANDS:
            command = None  # "/shrug", "!Attention everyone": words, not commands
        if incoming.private:
            return self._private(incoming, command) if command else []
        if command is None and _for_another_bot(incoming.text, username):
            return []  # a command for another bot: not ours to answer, and not a memory
        settings = self._community(incoming.chat, incoming.chat_title)
        if command is not None:
            return self._command(incoming, settings, command)
        replies: list[Reply] = []
        result = ingest_message(self.archive, incoming.as_event())
        if incoming.reply_to_id and KEEP_HASHTAG.search(incoming.text):
            replies += self._keep(incoming, settings, TagMethod.HASHTAG, story=None)
        if result.should_ask:
            replies += self._ask_unprompted(
                incoming.chat, settings, incoming.sender, incoming.sender_name, incoming.message_id
            )
        return replies

    def _command(
        self, incoming: Incoming, settings: CommunitySettings, command: Command
    ) -> list[Reply]:
        handler = {
            "help": self._help,
            "start": self._help,
            "consent": self._consent,
            "keep": self._keep_command,
            "unkeep": self._unkeep,
            "forget": self._forget,
            "mydata": self._mydata,
            "search": self._search,
            "onthisday": self._onthisday,
            "digest": self._digest,
            "stories": self._stories,
            "story": self._story,
            "propose": self._propose,
            "policy": self._policy,
            "stewards": self._stewards,
            "unsteward": self._unsteward,
            "link": self._link_in_group,
            "record": self._record,
        }.get(command.name)
        if handler is None:
            return []  # another bot's command, or a typo: stay quiet in the group
        return handler(incoming, settings, command.args)

    def _say(self, incoming: Incoming, message: str, *, reply: bool = True) -> list[Reply]:
        return [Reply(incoming.chat, message, reply_to=incoming.message_id if reply else None)]

    def _help(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        return self._say(
            incoming,
            self._t(
                settings,
                "help",
                emoji=keep_emoji(incoming.chat.platform, settings.keep_emoji),
            ),
        )

    def _consent(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        choice = consent_choice(args)
        chat = None if incoming.private else incoming.chat
        if not choice:
            state = consent_of(self.archive, settings.id, incoming.sender)
            status = self._t(
                settings,
                "consent_status",
                level=self._t(settings, f"level_{state.level.value}"),
                attribution=self._t(settings, f"attribution_{state.attribution.value}"),
            )
            prompt = self._consent_prompt(
                chat,
                settings,
                incoming.sender,
                incoming.sender_name,
                incoming.message_id,
                incoming.chat,
            )
            return [replace(prompt, text=status + "\n\n" + prompt.text)]
        actor = Actor(incoming.sender)
        if choice in ("all", "tagged", "none"):
            change = archive_set_level(
                self.archive,
                settings.id,
                incoming.sender,
                Level(choice),
                actor=actor,
                method=Method.COMMAND,
                display_name=incoming.sender_name,
            )
        elif choice in ("named", "anonymous"):
            change = archive_set_attribution(
                self.archive,
                settings.id,
                incoming.sender,
                Attribution(choice),
                actor=actor,
                method=Method.COMMAND,
                display_name=incoming.sender_name,
            )
        elif choice in ("public", "private"):
            change = archive_set_public(
                self.archive,
                settings.id,
                incoming.sender,
                choice == "public",
                actor=actor,
                method=Method.COMMAND,
            )
        else:
            return self._say(incoming, self._t(settings, "consent_usage"))
        if not change.changed:
            if choice in ("all", "tagged", "none"):
                label = f"level_{choice}"
            elif choice in ("named", "anonymous"):
                label = f"attribution_{choice}"
            else:
                label = f"choice_{choice}"
            return self._say(
                incoming, self._t(settings, "consent_unchanged", choice=self._t(settings, label))
            )
        return self._say(incoming, self._t(settings, f"consent_set_{choice}"))

    # --- keeping ------------------------------------------------------------------------------

    def _keep_command(
        self, incoming: Incoming, settings: CommunitySettings, args: str
    ) -> list[Reply]:
        if not incoming.reply_to_id:
            return self._say(incoming, self._t(settings, "keep_needs_reply"))
        return self._keep(incoming, settings, TagMethod.COMMAND, story=args or None)

    def _keep(
        self,
        incoming: Incoming,
        settings: CommunitySettings,
        method: TagMethod,
        story: str | None,
    ) -> list[Reply]:
        assert incoming.reply_to_id is not None
        if incoming.reply_to_is_bot:
            return []  # the bot's own messages are not residents' memory
        result = tag_message(
            self.archive,
            TagEvent(
                chat=incoming.chat,
                message_id=incoming.reply_to_id,
                tagger=incoming.sender,
                method=method,
                story=story,
                target=incoming.reply_to,
            ),
        )
        return self._tag_replies(
            incoming.chat,
            settings,
            result,
            incoming.message_id,
            incoming.reply_to_id,
            incoming.sender_name,
            story,
            author_name=incoming.reply_to.author_name if incoming.reply_to else None,
        )

    def _tag_replies(
        self,
        chat: ChatRef,
        settings: CommunitySettings,
        result: TagResult,
        reply_to: str | None,
        target_id: str,
        tagger_name: str | None,
        story: str | None,
        *,
        author_name: str | None = None,
        quiet_success: bool = False,
    ) -> list[Reply]:
        outcome = result.outcome
        if outcome is TagOutcome.HELD:
            assert result.author is not None
            prompt = create_prompt(
                self.archive, chat, PromptKind.KEEP, result.author, target_message_id=target_id
            )
            return [
                Reply(
                    chat,
                    self._t(
                        settings,
                        "keep_prompt",
                        name=author_name or self._t(settings, "neighbour"),
                        tagger=tagger_name or self._t(settings, "neighbour"),
                        hours=settings.hold_hours,
                    ),
                    reply_to=target_id,
                    buttons=self._buttons(settings, prompt),
                    prompt_id=prompt.id,
                    mention=result.author,
                    mention_name=author_name,
                )
            ]
        if outcome is TagOutcome.KEPT and quiet_success:
            return []
        key = {
            TagOutcome.KEPT: "keep_kept_story" if story else "keep_kept",
            TagOutcome.ALREADY: "keep_already",
            TagOutcome.WAITING: "keep_waiting",
            TagOutcome.REFUSED: "keep_refused",
            TagOutcome.UNAVAILABLE: "keep_unavailable",
        }[outcome]
        if quiet_success and outcome in (TagOutcome.ALREADY, TagOutcome.WAITING):
            return []
        return [Reply(chat, self._t(settings, key, story=story or ""), reply_to=reply_to)]

    def _unkeep(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        if not incoming.reply_to_id:
            return self._say(incoming, self._t(settings, "unkeep_needs_reply"))
        removed = unkeep(self.archive, incoming.chat, incoming.reply_to_id, tagger=incoming.sender)
        return self._say(incoming, self._t(settings, "unkeep_done" if removed else "unkeep_none"))

    # --- forget and mydata ----------------------------------------------------------------------

    def _forget(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        if incoming.reply_to_id and not incoming.private:
            try:
                forget_message(
                    self.archive,
                    incoming.chat,
                    incoming.reply_to_id,
                    actor=Actor(incoming.sender),
                )
            except NotFoundError:
                return self._say(incoming, self._t(settings, "forget_not_found"))
            except ConsentError:  # not their message (a StorageError goes on, to be retried)
                return self._say(incoming, self._t(settings, "forget_not_yours"))
            return self._say(incoming, self._t(settings, "forget_message_done"))
        if consent_of(self.archive, settings.id, incoming.sender).person_id is None:
            return self._say(incoming, self._t(settings, "forget_nothing"))
        prompt = create_prompt(
            self.archive,
            None if incoming.private else incoming.chat,
            PromptKind.FORGET,
            incoming.sender,
            community_id=settings.id,
        )
        return [
            Reply(
                incoming.chat,
                self._t(settings, "forget_confirm"),
                reply_to=incoming.message_id,
                buttons=self._buttons(settings, prompt),
                prompt_id=prompt.id,
                mention=incoming.sender,
            )
        ]

    def _mydata(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        data = what_we_hold(self.archive, settings.id, incoming.sender)
        if not data.known:
            body = self._t(settings, "mydata_nothing")
        else:
            body = self._t(
                settings,
                "mydata",
                level=self._t(settings, f"level_{data.level.value}"),
                attribution=self._t(settings, f"attribution_{data.attribution.value}"),
                name=data.display_name or self._t(settings, "mydata_no_name"),
                messages=data.messages,
                versions=data.versions,
                held=data.held,
                files=data.files,
                tags=data.tags_made,
                ledger=len(data.ledger),
            )
            if data.steward_since is not None:
                since = data.steward_since.astimezone(ZoneInfo(settings.timezone)).date()
                body += "\n" + self._t(settings, "mydata_steward", since=since.isoformat())
        if incoming.private:
            return self._say(incoming, body)
        return [
            Reply(
                incoming.chat,
                body,
                private_to=incoming.sender,
                fallback=Reply(
                    incoming.chat,
                    self._t(settings, "mydata_start_first"),
                    reply_to=incoming.message_id,
                ),
                confirmation=Reply(
                    incoming.chat, self._t(settings, "mydata_sent"), reply_to=incoming.message_id
                ),
            ),
        ]

    # --- recall -------------------------------------------------------------------------------

    def _search(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        if not args:
            return self._say(incoming, self._t(settings, "search_usage"))
        hits = search(self.archive, settings.id, args, limit=SEARCH_RESULTS)
        if not hits:
            return self._say(incoming, self._t(settings, "no_results", query=args))
        lines = [self._t(settings, "search_title", query=args)]
        lines += [self._show(settings, hit) for hit in hits]
        return self._say(incoming, "\n".join(lines))

    def _onthisday(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        today = self._today(settings.timezone)
        day = today
        if args:
            match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", args.strip())
            month_day = (int(match[1]), int(match[2])) if match else (0, 0)
            year = today.year
            while month_day == (2, 29) and not calendar.isleap(year):
                # A common year has no 29 February: ask as of the next leap year, whose
                # earlier years are this one's (the years between have no 29 February).
                year += 1
            try:
                day = date(year, *month_day)
            except ValueError:
                return self._say(incoming, self._t(settings, "onthisday_usage"))
        memories = on_this_day(self.archive, settings.id, day, limit=MEMORIES)
        if not memories:
            return self._say(incoming, self._t(settings, "no_memories", date=day.strftime("%m-%d")))
        lines = [self._t(settings, "on_this_day_title", date=day.strftime("%m-%d"))]
        lines += [self._show(settings, memory) for memory in memories]
        return self._say(incoming, "\n".join(lines))

    def _digest(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        """This week's digest so far, as text (the picture comes with the scheduled post)."""
        zone = ZoneInfo(settings.timezone)
        now = datetime.combine(self._today(settings.timezone), datetime.now(zone).time(), zone)
        digest = build_digest(self.archive, settings.id, now=now)
        assert digest is not None  # with the quiet note on, a quiet week still has one
        return self._say(incoming, render(digest, functools.partial(text, settings.language)))

    def _stories(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        stories = [s for s in list_stories(self.archive, settings.id) if s.messages]
        if not stories:
            return self._say(incoming, self._t(settings, "stories_none"))
        lines = [self._t(settings, "stories_title")]
        lines += [self._t(settings, "story_line", name=s.name, count=s.messages) for s in stories]
        return self._say(incoming, "\n".join(lines))

    def _story(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        if not args:
            return self._say(incoming, self._t(settings, "story_usage"))
        messages = story_messages(self.archive, settings.id, args)
        if not messages:
            return self._say(incoming, self._t(settings, "story_not_found", name=args))
        lines = [self._t(settings, "story_title", name=args)]
        lines += [self._show(settings, m) for m in messages]
        return self._say(incoming, "\n".join(lines))

    # --- private chats --------------------------------------------------------------------------

    def _private(self, incoming: Incoming, command: Command) -> list[Reply]:
        if command.name not in PRIVATE_COMMANDS:
            return []
        mine = communities_of_account(self.archive, incoming.sender)
        if command.name == "link":  # across communities: one account proves the other
            language = self.settings(mine[0]).language if mine else "zh"
            return self._link(incoming, command.args, language)
        words = command.args.split()
        chosen = [w for w in words if w in mine]
        if len(mine) == 1 or chosen:
            community = chosen[0] if chosen else mine[0]
            settings = self.settings(community)
            args = " ".join(w for w in words if w != community)
            if command.name == "forget" and incoming.reply_to_id:
                incoming = _without_reply(incoming)
            return self._command(incoming, settings, Command(command.name, args))
        if not mine:
            return self._say(incoming, text("zh", "private_no_community"), reply=False)
        settings = self.settings(mine[0])
        return self._say(
            incoming,
            self._t(settings, "private_choose", ids=", ".join(mine), example=mine[0]),
            reply=False,
        )

    # --- reactions, buttons, edits, membership ----------------------------------------------------

    # --- linked accounts (archiver.links) -----------------------------------------------------

    def _link(self, incoming: Incoming, args: str, language: str) -> list[Reply]:
        code = args.strip()
        if not code:
            fresh = new_code(self.archive, incoming.sender)
            shown = f"{fresh[:4]}-{fresh[4:]}"
            said = text(language, "link_code", code=shown, minutes=CODE_MINUTES)
            return self._say(incoming, said, reply=False)
        try:
            linked = link_with_code(self.archive, incoming.sender, code)
        except LinkError as exc:
            return self._say(incoming, text(language, exc.reason), reply=False)
        said = text(language, "link_done", first=linked.first.key, second=linked.second.key)
        return self._say(incoming, said, reply=False)

    def _record(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        """A steward records a paper consent form: ``record ACCOUNT LEVEL [ATTRIBUTION]
        EVIDENCE…`` (archiver.paper_forms)."""
        words = args.split()
        try:
            subject = AccountRef.parse(words[0]) if words else None
        except CommunityMemoryError:
            subject = None
        level = consent_choice(words[1]) if len(words) > 1 else ""
        if subject is None or level not in ("all", "tagged", "none"):
            return self._say(incoming, self._t(settings, "record_usage"))
        rest = words[2:]
        attribution = None
        if rest and consent_choice(rest[0]) in ("named", "anonymous"):
            attribution = Attribution(consent_choice(rest[0]))
            rest = rest[1:]
        try:
            record_paper_form(
                self.archive, settings.id, subject, Level(level), attribution,
                steward=incoming.sender, evidence=" ".join(rest),
            )  # fmt: skip
        except PaperFormError as exc:
            return self._say(incoming, self._t(settings, exc.reason))
        return self._say(
            incoming,
            self._t(
                settings,
                "record_done",
                account=subject.key,
                level=self._t(settings, f"level_{level}"),
            ),
        )

    def _link_in_group(
        self, incoming: Incoming, settings: CommunitySettings, _args: str
    ) -> list[Reply]:
        return self._say(incoming, self._t(settings, "link_private"))

    # --- votes, policy, stewards (archiver.votes, archiver.policy) ---------------------------

    def _propose(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        words = args.split(maxsplit=1)
        if not words:
            return self._say(incoming, self._t(settings, "vote_unknown_policy"))
        policy, value = words[0].lower(), (words[1] if len(words) > 1 else "")
        target = None
        if policy in STEWARD_CHANGES:
            if incoming.mentions:
                target = incoming.mentions[0]
            elif incoming.reply_to is not None:
                target = incoming.reply_to.author
        rules = VoteRules(
            settings.vote_quorum_percent, settings.vote_min_voters, settings.vote_hours
        )
        try:
            proposal = propose(
                self.archive, incoming.chat, incoming.sender, policy, value,
                rules=rules, target=target,
            )  # fmt: skip
        except VoteError as exc:
            return self._say(incoming, self._t(settings, exc.reason))
        except PolicyValueError:
            return self._say(incoming, self._t(settings, "vote_unknown_policy"))
        what = self._what(settings, proposal.policy, proposal.value, target)
        announcement = self._t(
            settings,
            "vote_opened",
            name=self._shown(settings, incoming.sender, incoming.sender_name),
            what=what,
            closes=self._local(settings, proposal.closes_at),
            needed=proposal.needed,
        )
        poll = self._poll_request(settings, proposal.vote_id, what)
        return [Reply(incoming.chat, announcement, reply_to=incoming.message_id, poll=poll)]

    def _poll_request(self, settings: CommunitySettings, vote_id: int, what: str) -> PollRequest:
        question = self._t(settings, "vote_question", what=what)
        if len(question) > POLL_QUESTION_MAX:
            question = question[: POLL_QUESTION_MAX - 1] + "…"
        options = tuple(self._t(settings, f"vote_{answer}") for answer in VOTE_ANSWERS)
        return PollRequest(vote_id, question, options)

    def polls_to_open(self, platforms: Collection[str]) -> list[Reply]:
        """The open votes' polls for the other chats of their communities (on ``platforms``,
        the ones running), each with the vote's announcement: a community spanning a Telegram
        group and a Matrix room votes in both."""
        replies = []
        for wanted in polls_wanted(self.archive, platforms):
            settings = self.settings(wanted.community_id)
            what = self._what(settings, wanted.policy, wanted.value, None)
            announcement = self._t(
                settings,
                "vote_opened",
                name=self._shown(settings, person_account(self.archive, wanted.proposed_by), None),
                what=what,
                closes=self._local(settings, wanted.closes_at),
                needed=wanted.needed,
            )
            poll = self._poll_request(settings, wanted.vote_id, what)
            replies.append(Reply(wanted.chat, announcement, poll=poll))
        return replies

    def poll_sent(self, chat: ChatRef, vote_id: int, poll_id: str, poll_message_id: str) -> None:
        """The adapter opened the vote's poll in ``chat``: answers to it count from now on.
        Once the chat the vote was proposed in has its poll, the community's other chats get
        theirs (``vote_opened``: now, not at the next check)."""
        own_chat = poll_sent(self.archive, vote_id, chat, poll_id, poll_message_id)
        if own_chat and self.vote_opened is not None:
            self.vote_opened()

    def poll_failed(self, chat: ChatRef, vote_id: int) -> list[Reply]:
        """The poll could not be opened: in the chat the vote was proposed in, there is no
        vote (closed as not held) and the chat is told; elsewhere it goes on without it."""
        if not poll_failed(self.archive, vote_id, chat):
            log.warning("vote %s: no poll in %s:%s", vote_id, chat.platform, chat.chat_id)
            return []
        community_id = self._community_of(chat)
        if community_id is None:
            return []
        return [Reply(chat, self._t(self.settings(community_id), "vote_poll_failed"))]

    def on_poll_answer(self, poll_id: str, voter: AccountRef, option: int | None) -> None:
        """Someone answered a vote's poll (``None``: took their answer back). Stored if they
        are on the roll; quiet either way (the poll shows it)."""
        choice = VOTE_ANSWERS[option] if option is not None and 0 <= option < 2 else None
        answer(self.archive, poll_id, voter, choice)

    def vote_closed(self, closed: Closed) -> list[Reply]:
        """What each chat that had the vote is told when it closes."""
        settings = self.settings(closed.community_id)
        what = self._what(settings, closed.policy, closed.value, None)
        key = {
            VoteResult.PASSED: "vote_passed",
            VoteResult.REJECTED: "vote_rejected",
            VoteResult.NO_QUORUM: "vote_no_quorum",
        }[closed.result]
        said = self._t(
            settings,
            key,
            what=what,
            yes=closed.yes,
            no=closed.no,
            answers=closed.yes + closed.no,
            needed=closed.needed,
        )
        return [Reply(poll.chat, said) for poll in closed.polls]

    def _policy(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        values = current_policy(self.archive, settings)
        lines = [self._t(settings, "policy_title")]
        for value in values.values():
            if value.since is None:
                source = self._t(settings, "policy_default")
            elif value.source.startswith("vote"):
                source = self._t(settings, "policy_by_vote", date=self._day(settings, value.since))
            else:
                source = self._t(
                    settings, "policy_by_steward", date=self._day(settings, value.since)
                )
            lines.append(
                self._t(
                    settings, "policy_line", policy=value.policy, value=value.value, source=source
                )
            )
        for vote in open_votes(self.archive, settings.id):
            lines.append(
                self._t(
                    settings,
                    "policy_open",
                    what=self._what(settings, vote.policy, vote.raw_value, None),
                    closes=self._local(settings, vote.closes_at),
                    answers=vote.answers,
                    needed=vote.needed,
                )
            )
        return self._say(incoming, "\n".join(lines))

    def _stewards(self, incoming: Incoming, settings: CommunitySettings, _args: str) -> list[Reply]:
        found = stewards_of(self.archive, settings.id)
        if not found:
            return self._say(incoming, self._t(settings, "stewards_none"))
        lines = [self._t(settings, "stewards_title")]
        for steward in found:
            account = steward.accounts[0] if steward.accounts else None
            name = (
                self._shown(settings, account, None) if account else self._t(settings, "neighbour")
            )
            lines.append(
                self._t(
                    settings, "stewards_line", name=name, since=self._day(settings, steward.since)
                )
            )
        return self._say(incoming, "\n".join(lines))

    def _unsteward(self, incoming: Incoming, settings: CommunitySettings, args: str) -> list[Reply]:
        if args.strip().lower() not in ("me", "我"):
            return self._say(incoming, self._t(settings, "unsteward_usage"))
        changed = change_steward(
            self.archive, settings.id, incoming.sender, add=False,
            actor=f"{incoming.sender.key} (stepped down)",
        )  # fmt: skip
        return self._say(
            incoming, self._t(settings, "unsteward_done" if changed else "unsteward_not")
        )

    def _what(
        self, settings: CommunitySettings, policy: str, value: str, target: AccountRef | None
    ) -> str:
        """What a vote decides, in words (a steward vote's ``value`` is the person's id)."""
        if policy in STEWARD_CHANGES:
            subject = target or person_account(self.archive, int(value))
            return self._t(settings, f"what_{policy}", name=self._shown(settings, subject, None))
        if policy in ("media", "site") or value in ("off", "forever"):
            return self._t(settings, f"what_{policy}_{value}")
        if policy == "retention":
            return self._t(settings, "what_retention", years=value.rstrip("y"))
        return self._t(settings, f"what_{policy}", value=value)

    def _shown(
        self, settings: CommunitySettings, account: AccountRef | None, name: str | None
    ) -> str:
        """A person as the chat may name them: by name only when they chose ``named``."""
        if account is None:
            return self._t(settings, "neighbour")
        shown = shown_as(self.archive, settings.id, account, name)
        return shown or self._t(settings, "neighbour")

    def _local(self, settings: CommunitySettings, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")

    def _day(self, settings: CommunitySettings, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(settings.timezone)).date().isoformat()

    # --- files kept with messages ---------------------------------------------------------

    def file_wanted(
        self, chat: ChatRef, message_id: str, ref: MediaRef
    ) -> tuple[bool, list[Reply]]:
        """Whether the adapter should download this message's file (only for a message the
        archive keeps or holds, within the limits); when not, what to tell its sender."""
        result = wants_file(self.archive, chat, message_id, ref)
        if result.outcome is FileOutcome.STORED:
            return True, []
        return False, self._file_refused(chat, message_id, ref, result.outcome)

    def keep_file(self, chat: ChatRef, message_id: str, data: bytes, ref: MediaRef) -> list[Reply]:
        """Keep the downloaded file with its message; a reply when it was refused."""
        result = keep_file(self.archive, chat, message_id, data, ref)
        return self._file_refused(chat, message_id, ref, result.outcome)

    def file_too_large(
        self, chat: ChatRef, message_id: str, ref: MediaRef, limit: int
    ) -> list[Reply]:
        """The platform would not hand the file over for its size (a Telegram bot gets at
        most 20 MB): the sender hears why, like for the archive's own limit."""
        return self._refusal(chat, message_id, ref, "media_too_large", limit)

    def _file_refused(
        self, chat: ChatRef, message_id: str, ref: MediaRef, outcome: FileOutcome
    ) -> list[Reply]:
        if outcome is FileOutcome.TOO_LARGE:
            limit = self.archive.media.limit_for(ref.kind) if self.archive.media else None
            return self._refusal(chat, message_id, ref, "media_too_large", limit or 0)
        if outcome is FileOutcome.QUOTA:
            return self._refusal(chat, message_id, ref, "media_quota_full", 0)
        return []

    def _refusal(
        self, chat: ChatRef, message_id: str, ref: MediaRef, key: str, limit: int
    ) -> list[Reply]:
        community_id = self._community_of(chat)
        if community_id is None:
            return []
        settings = self.settings(community_id)
        kind = self._t(settings, f"media_kind_{ref.kind}")
        megabytes = f"{limit / (1024 * 1024):g}"
        return [
            Reply(chat, self._t(settings, key, kind=kind, limit=megabytes), reply_to=message_id)
        ]

    def on_reaction(self, reaction: Reaction) -> list[Reply] | ButtonResult:
        """A reaction: an answer when it is on one of the bot's prompts, a tag when it is the
        community's keep emoji, otherwise nothing."""
        settings_id = self._community_of(reaction.chat)
        if settings_id is None:
            return []
        settings = self.settings(settings_id)
        emoji = reaction.emoji
        if is_keep(reaction.chat.platform, settings.keep_emoji, emoji):
            emoji = settings.keep_emoji  # ✍ on Telegram stands for the community's 📌
        prompt = prompt_for_message(self.archive, reaction.chat, reaction.message_id)
        if prompt is not None:
            answer = REACTION_ANSWERS[prompt.kind].get(emoji)
            if answer is None:
                return []
            return self._answer(
                settings,
                prompt.id,
                answer,
                reaction.by,
                reaction.by_name,
                reaction.chat,
                Method.REACTION,
            )
        if emoji != settings.keep_emoji:
            return []
        result = tag_message(
            self.archive,
            TagEvent(
                chat=reaction.chat,
                message_id=reaction.message_id,
                tagger=reaction.by,
                method=TagMethod.REACTION,
                target=reaction.target,
            ),
        )
        return self._tag_replies(
            reaction.chat,
            settings,
            result,
            reaction.message_id,
            reaction.message_id,
            reaction.by_name,
            None,
            author_name=reaction.target.author_name if reaction.target else None,
            quiet_success=True,
        )

    def on_reaction_removed(self, reaction: Reaction) -> None:
        """A reaction taken back (Telegram: gone from the person's reactions; Matrix: its
        event redacted). The keep emoji's tag is removed, as that person's ``unkeep`` would,
        quietly (a reaction is a quiet gesture); taking back a reaction on one of the bot's
        prompts withdraws no answer and changes nothing."""
        community_id = self._community_of(reaction.chat)
        if community_id is None:
            return
        settings = self.settings(community_id)
        if not is_keep(reaction.chat.platform, settings.keep_emoji, reaction.emoji):
            return
        if prompt_for_message(self.archive, reaction.chat, reaction.message_id) is not None:
            return
        unkeep(self.archive, reaction.chat, reaction.message_id, tagger=reaction.by)

    def on_button(
        self, chat: ChatRef, private: bool, by: AccountRef, by_name: str | None, data: str
    ) -> ButtonResult:
        """A button press (Telegram). Only the prompt's person can answer it."""
        decoded = decode_button(data)
        community_id = None if private else self._community_of(chat)
        if decoded is None:
            language = self.settings(community_id).language if community_id else "zh"
            return ButtonResult(text(language, "question_closed"), alert=True)
        prompt_id, answer = decoded
        prompt = get_prompt(self.archive, prompt_id)
        if prompt is None:
            language = self.settings(community_id).language if community_id else "zh"
            return ButtonResult(text(language, "question_closed"), alert=True)
        settings = self.settings(prompt.community_id)
        return self._answer(
            settings, prompt_id, answer, by, by_name, None if private else chat, Method.BUTTON
        )

    def _answer(
        self,
        settings: CommunitySettings,
        prompt_id: int,
        answer: str,
        by: AccountRef,
        by_name: str | None,
        chat: ChatRef | None,
        method: Method,
    ) -> ButtonResult:
        try:
            result = answer_prompt(
                self.archive,
                prompt_id,
                answer,
                actor=by,
                method=method,
                chat=chat,
                display_name=by_name,
            )
        except NotYourPromptError:
            # Someone else's answer: nothing changes, and the prompt stays open for its person.
            return ButtonResult(self._t(settings, "not_for_you"), alert=True)
        except ConsentError:
            # An answer this question does not take (a forged button): not an answer at all.
            return ButtonResult(self._t(settings, "question_closed"), alert=True)
        except NotFoundError:
            # Its person answers a closed question: answered already (a second tap, or the
            # same answer delivered again after a crash), or its held message is gone. Nothing
            # changes; the prompt is closed on the platform (again — closing it may have been
            # what the crash interrupted).
            return ButtonResult(self._t(settings, "question_closed"), alert=True, close_prompt=True)
        # A shared prompt (the greeting's answers) stays open for everyone else.
        return ButtonResult(
            self._answer_text(settings, result), close_prompt=not result.prompt.shared
        )

    def is_prompt(self, chat: ChatRef, message_id: str) -> bool:
        """Whether the bot's message ``message_id`` in ``chat`` carries a question."""
        return prompt_for_message(self.archive, chat, message_id) is not None

    def prompt_sent(self, prompt_id: int, message_id: str) -> None:
        """The adapter posted prompt ``prompt_id`` as ``message_id``: remember it, so that an
        answer by reaction on that message (Matrix, Telegram's ✍) finds its question."""
        attach_message(self.archive, prompt_id, message_id)

    def closed_prompt_text(self, chat: ChatRef, message_id: str) -> str | None:
        """What the bot's prompt ``message_id`` says in place of its answers once closed: the
        answer it got, or that it is closed (its held message went unanswered); None when
        that message is no prompt."""
        prompt = prompt_for_message(self.archive, chat, message_id)
        if prompt is None:
            return None
        settings = self.settings(prompt.community_id)
        label = ANSWER_LABELS[prompt.kind].get(prompt.answer or "")
        if label is None:
            return self._t(settings, "question_closed")
        return self._t(settings, "prompt_answered", answer=self._t(settings, label))

    def _answer_text(self, settings: CommunitySettings, result: PromptAnswer) -> str:
        kind = result.prompt.kind
        if kind is PromptKind.CONSENT:
            assert result.change is not None
            if not result.change.changed:
                label = (
                    f"level_{result.answer}"
                    if result.answer in ("all", "tagged", "none")
                    else f"attribution_{result.answer}"
                )
                return self._t(settings, "consent_unchanged", choice=self._t(settings, label))
            return self._t(settings, f"consent_set_{result.answer}")
        if kind is PromptKind.KEEP:
            return self._t(settings, "kept_yes" if result.kept else "kept_no")
        if result.forgotten is None:
            return self._t(settings, "forget_cancelled")
        state = consent_of(self.archive, settings.id, result.prompt.subject)
        return self._t(
            settings,
            "forget_done",
            messages=result.forgotten.messages,
            held=result.forgotten.held,
            tags=result.forgotten.tags,
            level=self._t(settings, f"level_{state.level.value}"),
        )

    def on_edit(self, event: EditEvent) -> None:
        """A message was edited on the platform."""
        if self._community_of(event.chat) is not None:
            edit_message(self.archive, event)

    def on_delete(self, event: DeleteEvent) -> None:
        """A message was deleted or redacted on the platform."""
        if self._community_of(event.chat) is not None:
            delete_message(self.archive, event)

    def on_bot_added(
        self, chat: ChatRef, title: str | None, stewards: Sequence[Appointment] = ()
    ) -> list[Reply]:
        """The bot joined a group: make sure it has a community, appoint the chat's admins
        (and, on Matrix, the inviter) its stewards, and say hello once."""
        community_id = adopt_chat(self.archive, chat, title)
        appoint_stewards(self.archive, community_id, stewards, chat=chat)
        settings = self.settings(community_id)
        # The greeting carries the one-tap answers for everyone (each answers for themself):
        # in a big group most people answer there, instead of one question each.
        prompt = create_prompt(self.archive, chat, PromptKind.CONSENT, everyone_on(chat.platform))
        return [
            Reply(
                chat,
                self._t(settings, "greeting"),
                buttons=self._buttons(settings, prompt),
                prompt_id=prompt.id,
            )
        ]

    def on_bot_removed(self, chat: ChatRef) -> None:
        """The bot was removed: the space stays in the archive, marked inactive."""
        set_chat_active(self.archive, chat, False)

    def on_member_joined(self, chat: ChatRef, member: AccountRef, name: str | None) -> list[Reply]:
        """Someone joined: ask them once, unless they already answered or were asked."""
        community_id = self._community_of(chat)
        if community_id is None:
            return []
        state = consent_of(self.archive, community_id, member)
        if state.level is not Level.UNKNOWN or state.prompted:
            return []
        return self._ask_unprompted(chat, self.settings(community_id), member, name, None)


def _for_another_bot(message: str, bot_username: str | None) -> bool:
    """``/cmd@otherbot``: a command addressed to a different bot."""
    match = COMMAND.match(message.strip())
    if not match or not match[2]:
        return False
    return not bot_username or match[2].lower() != bot_username.lower()


def _without_reply(incoming: Incoming) -> Incoming:
    return Incoming(
        chat=incoming.chat,
        private=incoming.private,
        message_id=incoming.message_id,
        sender=incoming.sender,
        sender_name=incoming.sender_name,
        text=incoming.text,
        sent_at=incoming.sent_at,
    )

"""English texts. Tone: short, warm, clear about what is kept and how to say no."""

TEXTS: dict[str, str] = {
    # paper consent forms recorded by a steward (archiver.paper_forms)
    "record_usage": (
        "Stewards record a signed paper form like this: /record telegram:123456 all named "
        "form #8 (level all, tagged or none; named or anonymous if the form says)"
    ),
    "record_done": "Recorded from the paper form: {account} — {level}.",
    "record_not_steward": "Only the stewards record paper forms: /stewards",
    "record_own_choice": (
        "Not recorded: this person has chosen in the chat themselves, and their own choice stands."
    ),
    # the public website (a personal choice, docs/governance.md)
    "consent_words_public": "public",
    "consent_words_private": "private",
    "choice_public": "public",
    "choice_private": "residents only",
    "consent_set_public": (
        "Noted: if the community decides to have a public archive website, your kept messages "
        "may be on it. Say /consent private to undo."
    ),
    "consent_set_private": "Noted: your kept messages stay for residents only.",
    # linked accounts (archiver.links)
    "link_code": (
        "Your code: {code}\n"
        "Linked, both accounts are one person here: one choice, one /mydata, one /forget, one "
        "vote. Within {minutes} minutes, send this to me privately from your other account "
        "(Telegram or Matrix):\n/link {code}"
    ),
    "link_done": "Linked: {first} and {second} are one person now.",
    "link_unknown_code": "That code is unknown or has expired: send /link from your other account for a new one.",
    "link_same_account": "That code is from this same account: send /link CODE from your other account.",
    "link_private": "Accounts are linked in a private chat with me, so that nobody else sees the code.",
    # votes and policy (archiver.votes, archiver.policy)
    "vote_question": "Vote (not anonymous): {what}?",
    "vote_yes": "Yes",
    "vote_no": "No",
    "vote_opened": (
        "🗳 {name} proposes: {what}.\n"
        "Answer in the poll — everyone who said yes to keeping their messages, and the "
        "stewards, can vote. The poll is not anonymous so that I can check that; only the "
        "tally is kept after it closes. Open until {closes}; it counts with {needed} answers or "
        "more, and more yes than no decides it."
    ),
    "vote_passed": "✅ Decided: {what} ({yes} yes, {no} no).",
    "vote_rejected": "❌ Not decided: {what} ({yes} yes, {no} no).",
    "vote_no_quorum": "Not enough answers for: {what} ({answers} of {needed}). Nothing changes.",
    "vote_not_on_roll": (
        "Only residents who said yes to keeping their messages (and stewards) can propose a "
        "vote: /consent"
    ),
    "vote_open": "A vote on this is already open: /policy",
    "vote_unknown_policy": (
        "I can put these to a vote: media on|off, site residents|public, digest off|sun 20:00, "
        "on_this_day off|09:00, hold_hours 72, retention forever|5y, steward, unsteward. "
        "For example: /propose media off"
    ),
    "vote_needs_person": (
        "Reply to the person's message with /propose steward (or /propose unsteward), or "
        "mention them."
    ),
    "vote_pointless": "Nothing to decide: it is so already.",
    "vote_bad_value": "{error}",
    "vote_poll_failed": "I could not open the poll here, so there is no vote.",
    "what_media_on": "keep photos, voice and files with kept messages",
    "what_media_off": "stop keeping photos, voice and files",
    "what_site_public": (
        "make the archive website public (only with the messages of people who chose "
        "/consent public themselves)"
    ),
    "what_site_residents": "keep the archive website for residents only",
    "what_digest": "post the weekly digest on {value}",
    "what_digest_off": "stop the weekly digest",
    "what_on_this_day": "post the day's memories at {value}",
    "what_on_this_day_off": "stop the daily memories",
    "what_hold_hours": "let a tagged message wait {value} hours for its author's answer",
    "what_retention": "erase kept messages once they are older than {years} years",
    "what_retention_forever": "keep messages for as long as the community exists",
    "what_steward": "make {name} a steward",
    "what_unsteward": "{name} stops being a steward",
    "policy_title": "What {community} decided:",
    "policy_line": "• {policy}: {value} — {source}",
    "policy_default": "the default",
    "policy_by_vote": "vote of {date}",
    "policy_by_steward": "recorded {date}",
    "policy_open": "🗳 Open: {what} — until {closes}, {answers} answered, {needed} needed",
    "stewards_title": "Stewards of {community}:",
    "stewards_line": "• {name}, since {since}",
    "stewards_none": "{community} has no stewards yet.",
    "unsteward_usage": "To step down as a steward: /unsteward me",
    "unsteward_done": "You are no longer a steward of {community}.",
    "unsteward_not": "You are not a steward of {community}.",
    # files kept with messages (archiver.media_files)
    "media_too_large": "Your {kind} was not kept: it is larger than the {limit} MB this archive keeps. Your words are kept.",
    "media_quota_full": "Your {kind} was not kept: the archive's space for files is full. Your words are kept; a steward can make room.",
    "media_kind_photo": "photo",
    "media_kind_voice": "voice message",
    "media_kind_audio": "audio",
    "media_kind_video": "video",
    "media_kind_video_note": "video message",
    "media_kind_document": "file",
    "media_kind_animation": "animation",
    # recall
    "neighbour": "a neighbour",
    "no_results": "No memories found for “{query}”.",
    "no_memories": "No memories from {date} in earlier years yet.",
    "on_this_day_title": "On this day · {date}",
    "month_ago_title": "One month ago · {date}",
    "search_title": "Search results for “{query}”",
    "year_ago": "{years} year(s) ago",
    "result_line": "{date} {author}: {text}",
    "search_usage": "Usage: /search words (for example /search lift)",
    "onthisday_usage": "Usage: /onthisday or /onthisday 03-15",
    # weekly digest (archiver.digest.render)
    "digest_title": "📖 {name} · this week, {start} – {end}",
    "digest_stats": "Kept this week: {messages} from {neighbours}.",
    "digest_messages": "{count} messages",
    "digest_messages_one": "1 message",
    "digest_neighbours": "{count} neighbours",
    "digest_neighbours_one": "1 neighbour",
    "digest_highlights": "✨ Highlights",
    "digest_highlight": "• {author}: “{quote}” 📌{tags}",
    "digest_media_only": "(a photo or a file)",
    "digest_photo": "📷 Photo of the week · {author}: {caption}",
    "digest_photo_bare": "📷 Photo of the week · {author}",
    "digest_words": "🔤 Words of the week: {words}",
    "digest_stories": "📚 Stories that grew: {stories}",
    "digest_story": "{name} (+{added})",
    "digest_welcome": "👋 Welcome, {names}: your first memories are kept!",
    "digest_and_more": "{names} and {count} more",
    "digest_separator": ", ",
    "digest_quiet": "🌙 A quiet week in {name}: nothing new was kept. Hope all is well — see you next week!",
    "digest_date": "{day} {month}",
    "digest_months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "digest_weekdays": "Mon Tue Wed Thu Fri Sat Sun",
    # greeting and help
    "greeting": (
        "Hello everyone, I am {community}'s community memory 📖\n"
        "I keep only the messages people agree to keep: until you answer, nothing is stored.\n"
        "Choose below (your answer counts for you only): keep everything, only what is "
        "tagged, or nothing — or send /consent. /help lists the commands."
    ),
    "help": (
        "I am {community}'s community memory: I keep only what neighbours agreed to keep.\n"
        "/consent — see or change your choice (all / tagged / none; named / anonymous)\n"
        "/keep [story] — reply to a message to keep it (or reply #keep, or react {emoji})\n"
        "/unkeep — reply to a message to remove your tag\n"
        "/forget — erase everything you contributed; as a reply to your message, just that one\n"
        "/mydata — what the archive holds about you (sent privately)\n"
        "/search words · /onthisday · /digest · /stories · /story name\n"
        "/propose what value — put it to a vote (e.g. /propose media off) · /policy · /stewards\n"
        "/link — link your Telegram and Matrix accounts as one person (privately)"
    ),
    # consent
    "consent_prompt": (
        "{hello}We keep a community memory for {community}. "
        "May we keep your messages here?\n"
        "• Keep everything: what you write is kept\n"
        "• Only tagged: kept when a neighbour tags it\n"
        "• Nothing: nothing is kept and you won't be asked again\n"
        "Change it any time with /consent; erase with /forget."
    ),
    "consent_status": "Your choice now: {level}, {attribution}.",
    "button_all": "Keep everything",
    "button_tagged": "Only tagged",
    "button_none": "Nothing",
    "button_named": "Show my name",
    "button_anonymous": "Anonymous",
    "level_unknown": "not chosen yet",
    "level_all": "keep everything",
    "level_tagged": "only tagged",
    "level_none": "keep nothing",
    "attribution_named": "name shown",
    "attribution_anonymous": "anonymous (a neighbour)",
    "consent_set_all": (
        "Thank you — your messages will be kept from now on. Your name is not shown unless "
        "you send /consent named."
    ),
    "consent_set_tagged": "Done — only messages neighbours tag will be kept; you won't be asked each time.",
    "consent_set_none": (
        "Done — nothing you write will be kept, and you won't be asked again. "
        "/forget erases what was kept before."
    ),
    "consent_set_named": "Done — digests and the archive will show your name.",
    "consent_set_anonymous": "Done — you will appear as “a neighbour”.",
    "consent_unchanged": "Your choice stays the same: {choice}.",
    "consent_usage": "Usage: /consent all | tagged | none | named | anonymous",
    # Words a resident may type after /consent, besides these keys themselves (space-separated).
    "consent_words_all": "everything",
    "consent_words_tagged": "tagged-only",
    "consent_words_none": "nothing",
    "consent_words_named": "show-my-name",
    "consent_words_anonymous": "anon",
    "hello_name": "Hello {name}! ",
    "hello": "Hello! ",
    "not_for_you": "This question is not for you.",
    "question_closed": "This question is closed.",
    "prompt_answered": "✔ Answered: {answer}",
    # keep
    "keep_prompt": (
        "{name}, {tagger} would like to keep this message of yours in the community memory. "
        "May we? Without an answer within {hours} hours it is not kept."
    ),
    "button_yes_keep": "Yes, keep it",
    "button_no_keep": "No",
    "keep_kept": "Kept in the community memory 📌",
    "keep_kept_story": "Kept in the story “{story}” 📌",
    "keep_already": "You have tagged this one already.",
    "keep_waiting": "Already waiting for the author's answer.",
    "keep_refused": "The author chose not to be kept; this message will not be stored.",
    "keep_unavailable": "I can't see that message. Reply to it with /keep instead.",
    "keep_needs_reply": "Reply to the message you want to keep, then send /keep.",
    "kept_yes": "Thank you! The message is kept in the community memory.",
    "kept_no": "OK — it won't be kept, and the copy set aside while we waited for you is deleted.",
    "unkeep_done": "Your tag is removed.",
    "unkeep_none": "You had not tagged this message.",
    "unkeep_needs_reply": "Reply to the message, then send /unkeep.",
    # forget
    "forget_confirm": ("Erase everything you contributed to {community}? This cannot be undone."),
    "button_yes_forget": "Yes, erase",
    "button_no_forget": "Cancel",
    "forget_done": (
        "Erased: {messages} message(s), {held} still waiting for your answer, {tags} tag(s). "
        "Your choice is still “{level}”; change it with /consent."
    ),
    "forget_cancelled": "OK, nothing was erased.",
    "forget_nothing": "The archive holds nothing of yours.",
    "forget_message_done": "That message is erased from the archive.",
    "forget_not_yours": "Only the author can erase this message.",
    "forget_not_found": "That message is not in the archive.",
    # mydata
    "mydata": (
        "What {community}'s archive holds about you:\n"
        "Choice: {level}, {attribution}\n"
        "Name: {name}\n"
        "Kept messages: {messages} ({versions} earlier versions)\n"
        "Photos and files: {files}\n"
        "Waiting for your answer: {held}\n"
        "Tags you made: {tags}\n"
        "Consent records: {ledger}"
    ),
    "mydata_steward": "You are a steward of {community} (since {since}).",
    "mydata_nothing": "{community}'s archive holds nothing about you.",
    "mydata_no_name": "(not stored)",
    "mydata_sent": "Sent to you privately.",
    "mydata_start_first": "Please open a private chat with me and press Start first, so I can send it to you.",
    # stories
    "stories_none": "No stories yet. Reply to a message with /keep story-name to start one.",
    "stories_title": "Stories:",
    "story_line": "• {name} ({count})",
    "story_title": "“{name}”",
    "story_not_found": "There is no story called “{name}”.",
    "story_usage": "Usage: /story name",
    # private chats
    "private_choose": (
        "You are in several communities: {ids}. Add the community after the command, "
        "for example: /consent all {example}"
    ),
    "private_no_community": "You are not in any community yet. Add me to your group first.",
    "group_only": "Please use this command in your community's group.",
    "error": "Sorry, something went wrong. Please try again later.",
}

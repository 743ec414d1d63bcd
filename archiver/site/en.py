"""Website texts (English). Tone: plain and warm; say what is kept here and why."""

TEXTS: dict[str, str] = {
    "reply_not_shown": "A reply to a message that is not on this public website",
    "media_photo": "a photo",
    "media_voice": "a voice message",
    "media_audio": "a recording",
    "media_video": "a video",
    "media_document": "a file",
    "site_title": "{community} · Community Memory",
    "nav_home": "Home",
    "nav_search": "Search",
    "nav_about": "About",
    "skip": "Skip to the content",
    "larger_text": "Larger text",
    "contrast": "High contrast",
    "stats": "{messages} messages from {neighbours} neighbours are kept here, since {since}.",
    "stats_empty": "Nothing is kept here yet.",
    "stories": "Stories",
    "no_stories": "No stories yet. Reply to a message in the chat with /keep and a story name to start one.",
    "story_count": "{count} messages",
    "on_this_day": "On this day",
    "on_this_day_none": "Nothing was kept on this day in earlier years yet.",
    "on_this_day_years": "{years} year(s) ago",
    "needs_script": "This part needs JavaScript turned on in the browser.",
    "newest": "Newest memories",
    "months": "By month",
    "month_count": "{count}",
    "search_label": "Search the memories",
    "search_placeholder": "for example: lift",
    "search_button": "Search",
    "search_found": "“{query}”: {count} found",
    "search_found_more": "“{query}”: more than {count} found",
    "search_none": "No memories found for “{query}”.",
    "search_more": "Show more",
    "search_loading": "Searching…",
    "search_hint": "Search Chinese words, names or English words; separate several with spaces.",
    "neighbour": "a neighbour",
    "edited": "edited",
    "quote": "↩ {author}: {snippet}",
    "reply_not_kept": "A reply to a message that is not kept",
    "tags": "tagged {count} time(s)",
    "media": "[a photo or a file that is not kept]",
    "month_title": "{month_name} {year}",
    "day_title": "{day} {month_name}",
    "days": "Days of this month",
    "page_of": "Page {page} of {pages}",
    "previous": "Previous page",
    "next": "Next page",
    "previous_month": "Previous month",
    "next_month": "Next month",
    "story_title": "The story “{name}”",
    "story_started": "Started on {date}",
    "print": "Print this page",
    "about": "About this archive",
    "about_text": (
        "This is the community memory of the residents of {community}. It keeps only the messages "
        "neighbours agreed to keep in their chat: some chose to keep everything, some only what "
        "others tag, some nothing — and of anyone who has not answered, nothing is kept.\n"
        "A name appears only for people who chose to show it; everyone else is “a neighbour”. "
        "No one's account number is anywhere in this archive.\n"
        "This website is a folder: it needs no internet and no platform, and opens from a USB "
        "stick, a computer or any web space.\n"
        "To erase what you wrote, send /forget in the chat (as a reply to one of your messages, "
        "to erase just that one), or ask a steward of the archive. The next time the website is "
        "updated, what was erased is gone from every page and from the search."
    ),
    "built": "Made by Community Memory on {date}",
    "month_names": "January February March April May June July August September October November December",
}

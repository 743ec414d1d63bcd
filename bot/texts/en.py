"""English texts. Tone: short, warm, clear about what is kept."""

TEXTS: dict[str, str] = {
    "neighbour": "a neighbour",
    "no_results": "No memories found for “{query}”.",
    "no_memories": "No memories from {date} in earlier years yet.",
    "on_this_day_title": "On this day · {date}",
    "search_title": "Search results for “{query}”",
    "year_ago": "{years} year(s) ago",
}

"""中文文案。语气：简短、温暖、说清楚保存了什么。"""

TEXTS: dict[str, str] = {
    "neighbour": "一位邻居",
    "no_results": "没有找到“{query}”相关的记忆。",
    "no_memories": "{date} 这一天，往年还没有留下记忆。",
    "on_this_day_title": "往年今日 · {date}",
    "search_title": "“{query}”的搜索结果",
    "year_ago": "{years} 年前",
}

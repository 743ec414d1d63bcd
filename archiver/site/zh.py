"""网站文案（中文）。语气：平实、温暖，说清楚这里保存了什么、为什么。"""

TEXTS: dict[str, str] = {
    "site_title": "{community} · 社区记忆",
    "nav_home": "首页",
    "nav_search": "搜索",
    "nav_about": "关于",
    "skip": "跳到正文",
    "larger_text": "大字",
    "contrast": "高对比",
    "stats": "这里保存了 {messages} 条消息，来自 {neighbours} 位邻居，从 {since} 开始。",
    "stats_empty": "这里还没有保存任何消息。",
    "stories": "故事",
    "no_stories": "还没有故事。在群里回复一条消息发送 /keep 故事名，就能把它存进故事。",
    "story_count": "{count} 条消息",
    "on_this_day": "往年今日",
    "on_this_day_none": "往年的今天还没有留下记忆。",
    "on_this_day_years": "{years} 年前",
    "needs_script": "这一部分需要浏览器打开 JavaScript。",
    "newest": "最新留下的记忆",
    "months": "按月份看",
    "month_count": "{count} 条",
    "search_label": "搜索记忆",
    "search_placeholder": "例如：电梯",
    "search_button": "搜索",
    "search_found": "“{query}”：找到 {count} 条",
    "search_found_more": "“{query}”：找到 {count} 条以上",
    "search_none": "没有找到“{query}”相关的记忆。",
    "search_more": "显示更多",
    "search_loading": "正在搜索……",
    "search_hint": "可以搜中文词、名字或英文单词，几个词之间用空格隔开。",
    "neighbour": "一位邻居",
    "edited": "已编辑",
    "quote": "↩ {author}：{snippet}",
    "reply_not_kept": "回复一条没有保存的消息",
    "tags": "被标记 {count} 次",
    "media": "[一张图片或一个文件，还没有保存在档案里]",
    "month_title": "{year}年{month}月",
    "day_title": "{month}月{day}日",
    "days": "这个月的日子",
    "page_of": "第 {page} 页，共 {pages} 页",
    "previous": "上一页",
    "next": "下一页",
    "previous_month": "上个月",
    "next_month": "下个月",
    "story_title": "故事「{name}」",
    "story_started": "从 {date} 开始",
    "print": "打印这一页",
    "about": "关于这个档案",
    "about_text": (
        "这是{community}居民自己的社区记忆。它只保存邻居们在群里同意保存的消息："
        "有人选择“全部保存”，有人只让被标记的消息留下，有人选择不保存——没有回答的人，什么都不存。\n"
        "名字只在本人选择“显示名字”时出现，其他人显示为“一位邻居”。这里没有任何人的账号号码。\n"
        "这个网站是一个文件夹，不需要联网，也不依赖任何平台：放在 U 盘里、电脑上，或者任何网站空间都能打开。\n"
        "想删除自己留下的内容？在群里发送 /forget（回复自己的某条消息则只删那一条），"
        "或者请档案管理人帮忙。下次更新网站时，被删除的内容会从所有页面和搜索里消失。"
    ),
    "built": "由社区记忆于 {date} 生成",
}

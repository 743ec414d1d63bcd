"""中文文案。语气：简短、温暖、说清楚保存了什么、怎么说不。"""

TEXTS: dict[str, str] = {
    # paper consent forms recorded by a steward (archiver.paper_forms)
    "record_usage": "管理员这样登记纸质同意书：/record telegram:123456 all named 同意书第8号（all、tagged 或 none；表上写了就加 named 或 anonymous）",
    "record_done": "已按纸质同意书登记：{account}——{level}。",
    "record_not_steward": "只有管理员可以登记纸质同意书：/stewards",
    "record_own_choice": "没有登记：这位邻居已经在群里自己做了选择，以本人的选择为准。",
    # the public website (a personal choice, docs/governance.md)
    "consent_words_public": "公开",
    "consent_words_private": "不公开",
    "choice_public": "公开",
    "choice_private": "只给居民看",
    "consent_set_public": "已记录：如果社区决定建公开的存档网站，你已保存的消息可以出现在上面。发送 /consent private 可以撤回。",
    "consent_set_private": "已记录：你已保存的消息只给本小区居民看。",
    # linked accounts (archiver.links)
    "link_code": (
        "你的验证码：{code}\n"
        "之后两个账号就是同一个人：一个选择、一个 /mydata、一个 /forget、一票。"
        "请在 {minutes} 分钟内，用你的另一个账号（Telegram 或 Matrix）私聊我发送：\n"
        "/link {code}"
    ),
    "link_done": "已关联：{first} 和 {second} 现在是同一个人。",
    "link_unknown_code": "这个验证码不存在或已过期：请用另一个账号发送 /link 获取新的验证码。",
    "link_same_account": "这个验证码就是这个账号的：请用另一个账号发送 /link 验证码。",
    "link_private": "关联账号请私聊我，这样别人看不到验证码。",
    # votes and policy (archiver.votes, archiver.policy)
    "vote_question": "投票（不匿名）：{what}？",
    "vote_yes": "赞成",
    "vote_no": "反对",
    "vote_opened": (
        "🗳 {name}提议：{what}。\n"
        "请在投票中回答——同意保存消息的邻居和管理员都可以投票。"
        "投票不匿名，这样我才能核对谁可以投票；结束后只保留票数。"
        "截止时间 {closes}；至少 {needed} 人回答才有效，赞成多于反对即通过。"
    ),
    "vote_passed": "✅ 已通过：{what}（赞成 {yes}，反对 {no}）。",
    "vote_rejected": "❌ 未通过：{what}（赞成 {yes}，反对 {no}）。",
    "vote_no_quorum": "回答人数不够：{what}（{answers}/{needed}），一切不变。",
    "vote_not_on_roll": "只有同意保存消息的邻居（和管理员）可以发起投票：/consent",
    "vote_open": "这件事已经在投票了：/policy",
    "vote_unknown_policy": (
        "可以投票的事项：media on|off、site residents|public、digest off|sun 20:00、"
        "on_this_day off|09:00、hold_hours 72、retention forever|5y、steward、unsteward。"
        "例如：/propose media off"
    ),
    "vote_needs_person": "请回复那位邻居的消息发送 /propose steward（或 /propose unsteward），或者@他。",
    "vote_pointless": "不用投票：现在已经是这样了。",
    "vote_bad_value": "{error}",
    "vote_poll_failed": "这里发不了投票，所以这次投票没有开始。",
    "what_media_on": "保存已保存消息里的照片、语音和文件",
    "what_media_off": "不再保存照片、语音和文件",
    "what_site_public": "公开存档网站（只包含自己选择了 /consent public 的邻居的消息）",
    "what_site_residents": "存档网站只给本小区居民看",
    "what_digest": "每周摘要改在 {value} 发",
    "what_digest_off": "停发每周摘要",
    "what_on_this_day": "“历史上的今天”改在 {value} 发",
    "what_on_this_day_off": "停发“历史上的今天”",
    "what_hold_hours": "被标记的消息等作者回答 {value} 小时",
    "what_retention": "删除超过 {years} 年的已保存消息",
    "what_retention_forever": "消息一直保存",
    "what_steward": "让{name}成为管理员",
    "what_unsteward": "{name}不再担任管理员",
    "policy_title": "{community}的决定：",
    "policy_line": "• {policy}：{value}——{source}",
    "policy_default": "默认设置",
    "policy_by_vote": "{date} 投票决定",
    "policy_by_steward": "{date} 记录",
    "policy_open": "🗳 进行中：{what}——截止 {closes}，已有 {answers} 人回答，需要 {needed} 人",
    "stewards_title": "{community}的管理员：",
    "stewards_line": "• {name}，自 {since}",
    "stewards_none": "{community}还没有管理员。",
    "unsteward_usage": "不再担任管理员：/unsteward me",
    "unsteward_done": "你已不再是{community}的管理员。",
    "unsteward_not": "你不是{community}的管理员。",
    # files kept with messages (archiver.media_files)
    "media_too_large": "您的{kind}没有保存：超过了本存档能保存的 {limit} MB。您的文字已保存。",
    "media_quota_full": "您的{kind}没有保存：存档的文件空间已满。您的文字已保存；管理员可以腾出空间。",
    "media_kind_photo": "照片",
    "media_kind_voice": "语音",
    "media_kind_audio": "音频",
    "media_kind_video": "视频",
    "media_kind_video_note": "视频消息",
    "media_kind_document": "文件",
    "media_kind_animation": "动图",
    # recall
    "neighbour": "一位邻居",
    "no_results": "没有找到“{query}”相关的记忆。",
    "no_memories": "{date} 这一天，往年还没有留下记忆。",
    "on_this_day_title": "往年今日 · {date}",
    "month_ago_title": "一个月前 · {date}",
    "search_title": "“{query}”的搜索结果",
    "year_ago": "{years} 年前",
    "result_line": "{date} {author}：{text}",
    "search_usage": "用法：/search 关键词（例如 /search 电梯）",
    "onthisday_usage": "用法：/onthisday 或 /onthisday 03-15",
    # weekly digest (archiver.digest.render)
    "digest_title": "📖 {name} · 本周回忆（{start}—{end}）",
    "digest_stats": "这周留下了 {messages}，来自 {neighbours}。",
    "digest_messages": "{count} 条消息",
    "digest_messages_one": "1 条消息",
    "digest_neighbours": "{count} 位邻居",
    "digest_neighbours_one": "1 位邻居",
    "digest_highlights": "✨ 本周精选",
    "digest_highlight": "• {author}：“{quote}” 📌{tags}",
    "digest_media_only": "（一张图片或一个文件）",
    "digest_photo": "📷 本周照片 · {author}：{caption}",
    "digest_photo_bare": "📷 本周照片 · {author}",
    "digest_words": "🔤 本周热词：{words}",
    "digest_stories": "📚 故事有了新篇章：{stories}",
    "digest_story": "{name}（+{added}）",
    "digest_welcome": "👋 欢迎{names}第一次留下记忆！",
    "digest_and_more": "{names}和另外 {count} 位邻居",
    "digest_separator": "、",
    "digest_quiet": "🌙 {name}这周很安静，没有新的记忆。愿大家一切都好，下周见！",
    "digest_date": "{month}{day}日",
    "digest_months": "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
    "digest_weekdays": "周一 周二 周三 周四 周五 周六 周日",
    # greeting and help
    "greeting": (
        "大家好，我是{community}的社区记忆 📖\n"
        "我只保存大家同意保存的消息：没回答之前，什么都不存。\n"
        "点下面的按钮选择（只算你自己的）：全部保存、只存被标记的、或都不存；也可以发送 /consent。/help 看全部命令。"
    ),
    "help": (
        "我是{community}的社区记忆：只保存邻居们同意保存的消息。\n"
        "/consent — 查看或修改你的选择（all 全部保存 / tagged 只存被标记的 / none 不保存；"
        "named 显示名字 / anonymous 匿名）\n"
        "/keep [故事名] — 回复一条消息，把它存进记忆（也可以回复 #留存 或点 {emoji}）\n"
        "/unkeep — 回复一条消息，取消你的标记\n"
        "/forget — 删除你留下的一切；回复你自己的消息则只删那一条\n"
        "/mydata — 档案里关于你的内容（私信发送）\n"
        "/search 关键词 · /onthisday · /digest · /stories · /story 故事名\n"
        "/propose 事项 值 — 发起大家投票（例如 /propose media off）· /policy · /stewards\n"
        "/link — 把你的 Telegram 和 Matrix 账号关联成同一个人（私聊）"
    ),
    # consent
    "consent_prompt": (
        "{hello}我们在为{community}保存社区记忆。你在群里的消息可以保存吗？\n"
        "• 全部保存：你说的话都会留存\n"
        "• 只存被标记的：邻居标记时才保存\n"
        "• 不保存：什么都不存，也不再问你\n"
        "随时可以用 /consent 修改，用 /forget 删除。"
    ),
    "consent_status": "你现在的选择：{level}，{attribution}。",
    "button_all": "全部保存",
    "button_tagged": "只存被标记的",
    "button_none": "不保存",
    "button_named": "显示我的名字",
    "button_anonymous": "匿名",
    "level_unknown": "还没有选择",
    "level_all": "全部保存",
    "level_tagged": "只存被标记的",
    "level_none": "不保存",
    "attribution_named": "显示名字",
    "attribution_anonymous": "匿名（一位邻居）",
    "consent_set_all": "好的，从现在起你的消息会被保存。名字默认不显示，发送 /consent named 可以显示。",
    "consent_set_tagged": "好的，只有邻居标记的消息才会保存，不会每次都问你。",
    "consent_set_none": "好的，不会保存你的任何消息，也不会再问你。以前保存的可以用 /forget 删除。",
    "consent_set_named": "好的，摘要和档案里会显示你的名字。",
    "consent_set_anonymous": "好的，你会显示为“一位邻居”。",
    "consent_unchanged": "你的选择没有变：{choice}。",
    "consent_usage": "用法：/consent 全部 | 标记 | 不保存 | 显示名字 | 匿名（也可以写 all | tagged | none | named | anonymous）",
    # Words a resident may type after /consent, besides the English ones (space-separated).
    "consent_words_all": "全部 全部保存 都保存 都存",
    "consent_words_tagged": "标记 只存标记 只存标记的 只存被标记的",
    "consent_words_none": "不保存 不存 都不存 都不保存",
    "consent_words_named": "显示名字 显示我的名字 实名",
    "consent_words_anonymous": "匿名 不显示名字",
    "hello_name": "{name}，你好！",
    "hello": "你好！",
    "not_for_you": "这个问题不是问你的哦。",
    "question_closed": "这个问题已经结束了。",
    "prompt_answered": "✔ 已回答：{answer}",
    # keep
    "keep_prompt": (
        "{name}，{tagger}想把你的这条消息存进社区记忆，可以吗？{hours} 小时内没有回答就不保存。"
    ),
    "button_yes_keep": "可以保存",
    "button_no_keep": "不要保存",
    "keep_kept": "已存进社区记忆 📌",
    "keep_kept_story": "已存进故事「{story}」📌",
    "keep_already": "你已经标记过这条了。",
    "keep_waiting": "已经在等作者同意了。",
    "keep_refused": "作者选择了不保存，这条不会被存下。",
    "keep_unavailable": "我看不到那条消息的内容。请回复那条消息并发送 /keep。",
    "keep_needs_reply": "请回复要保存的消息，再发送 /keep。",
    "kept_yes": "谢谢！这条消息已存进社区记忆。",
    "kept_no": "好的，这条消息不会保存，等你回答时先留着的那一份也已经删掉了。",
    "unkeep_done": "已取消你的标记。",
    "unkeep_none": "你没有标记过这条消息。",
    "unkeep_needs_reply": "请回复那条消息，再发送 /unkeep。",
    # forget
    "forget_confirm": "确定要删除你在{community}留下的一切吗？删除后无法恢复。",
    "button_yes_forget": "确定删除",
    "button_no_forget": "取消",
    "forget_done": (
        "已删除：{messages} 条消息、{held} 条还在等你同意的消息、{tags} 个标记。"
        "你的选择仍是「{level}」，可以用 /consent 修改。"
    ),
    "forget_cancelled": "好的，什么都没删。",
    "forget_nothing": "档案里没有你的内容。",
    "forget_message_done": "那条消息已经从档案中删除。",
    "forget_not_yours": "只有作者本人可以删除这条消息。",
    "forget_not_found": "那条消息不在档案里。",
    # mydata
    "mydata": (
        "{community}的档案里关于你的内容：\n"
        "选择：{level}，{attribution}\n"
        "名字：{name}\n"
        "保存的消息：{messages} 条（修改记录 {versions} 条）\n"
        "照片和文件：{files} 个\n"
        "等你同意的消息：{held} 条\n"
        "你做的标记：{tags} 个\n"
        "同意记录：{ledger} 条"
    ),
    "mydata_steward": "你是{community}档案的管理人，自 {since} 起。",
    "mydata_nothing": "{community}的档案里没有关于你的任何内容。",
    "mydata_no_name": "（未保存）",
    "mydata_sent": "已私信发给你。",
    "mydata_start_first": "请先私聊我并点“开始”，我才能把你的数据私信给你。",
    # stories
    "stories_none": "还没有故事。回复一条消息发送 /keep 故事名，就能把它存进故事。",
    "stories_title": "故事：",
    "story_line": "• {name}（{count} 条）",
    "story_title": "「{name}」",
    "story_not_found": "没有叫「{name}」的故事。",
    "story_usage": "用法：/story 故事名",
    # private chats
    "private_choose": "你在几个社区里：{ids}。请在命令后加上社区名，例如：/consent all {example}",
    "private_no_community": "你还不在任何社区里。把我加进小区群以后再来吧。",
    "group_only": "请在小区群里使用这个命令。",
    "error": "抱歉，出了点问题，请稍后再试。",
}

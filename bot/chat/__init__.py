"""The chat, platform-neutral: the shared command router, what goes in and out of it
(``messages``), and the texts residents read (``texts``)."""

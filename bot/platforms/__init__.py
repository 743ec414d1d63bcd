"""The platform adapters: Telegram (python-telegram-bot) and Matrix (matrix-nio). Each turns its
platform's updates into router calls and the router's replies into platform messages."""

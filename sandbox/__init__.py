"""The sandbox: what runs *beside* the product, never inside it.

The Telegram Bot API emulator (tests and the demo), the throwaway Synapse launcher (tests and
the bench), the benchmark suite and the offline demo. The product — ``bot/`` (but for the
``demo`` and ``bench`` commands, which import it when they run), ``archiver/`` and
``storage/`` — never imports this package; ``tests/test_architecture.py`` checks that.
Imports go ``sandbox → bot → archiver → storage``.
"""

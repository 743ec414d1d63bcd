"""The benchmark suite (``community-memory bench``) and the synthetic data it runs on.

:mod:`sandbox.bench.synthetic` writes deterministic Telegram Desktop exports and paper-consent
rosters of any size, with the numbers an import of them must give.
"""

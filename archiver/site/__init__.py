"""The archive website: a static, self-contained site of what a community keeps (``export
site``). See docs/site.md."""

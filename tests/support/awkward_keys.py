"""Object keys that break naive handlers: spaces, unicode, %, + and deep prefixes."""

KEYS = [
    "plain.png",
    "with space/a b.png",
    "ünïcödé/日本 語.png",
    "100%/a%20b%2F.png",
    "a+b/c+d.png",
    "deep/1/2/3/4/5/6/7/8/9/x.png",
]

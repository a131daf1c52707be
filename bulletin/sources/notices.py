"""Pages that are notices, not news: "under maintenance", "page not found", "log in to read".

Sites answer such pages with ``200 OK`` as often as with an error status, and a notice is
written in sentences ("本網站目前正在進行系統維護，造成不便，敬請見諒。"), so it passes the
furniture filter and would be read out as a story. A page is taken for a notice when its
text is short (a notice is a line or two; an article that merely mentions maintenance or a
login is longer) and its headline or text says one of the things notices say. Such a page
is a failed source, or, for a feed's item, its summary is read instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: A page with more text than this is an article, whatever it mentions.
MAX_NOTICE_CHARS = 200

_KINDS = (
    (
        "a maintenance notice",
        r"系[統统]維護|系统维护|維護中|维护中|維修中|维修中|暫停服務|暂停服务|停機維護|停机维护|"
        r"稍後再試|稍后再试|稍候再試|稍候再试|under maintenance|temporarily unavailable|"
        r"service unavailable|maintenance mode",
    ),
    (
        "an error page",
        r"找不到(?:[您你]要的|[該该此这這])?(?:網頁|网页|頁面|页面|文章|新聞|新闻)|"
        r"(?:網頁|网页|頁面|页面|文章|新聞|新闻|內容|内容)(?:不存在|已(?:被)?(?:刪除|删除|下架|移除))|"
        r"發生錯誤|发生错误|錯誤代碼|错误代码|page not found|not found|forbidden|access denied|"
        r"bad gateway|internal server error|\b(?:400|401|403|404|410|500|502|503|504)\b",
    ),
    (
        "a login or paywall page",
        r"請先?登入|请先?登录|請先?登錄|登入後(?:閱讀|繼續|即可)|登录后(?:阅读|继续|即可)|"
        r"會員專屬|会员专属|訂閱後|订阅后|付費閱讀|付费阅读|付費會員|付费会员|"
        r"sign in to|log in to|subscribe to (?:read|continue)",
    ),
)
_PATTERNS = tuple((what, re.compile(pattern, re.IGNORECASE)) for what, pattern in _KINDS)


def notice_kind(headline: str | None, paragraphs: Sequence[str]) -> str | None:
    """What kind of notice this page is ("a maintenance notice", …), or None for an article."""
    text = "".join(paragraphs)
    if len(text) > MAX_NOTICE_CHARS:
        return None
    said = f"{headline or ''}\n{text}"
    for what, pattern in _PATTERNS:
        if pattern.search(said):
            return what
    return None

"""Which main-text extractor to build on: trafilatura or readability-lxml, on Chinese news pages.

The pages are ``tests/data/pages/*.html``: four real-looking Chinese news pages (CNA-,
Xinhua-, UDN- and portal-style; UTF-8, GB2312 and Big5) wrapped in the furniture real
sites carry: navigation, breadcrumbs, share bars, photo captions, ads, "related" and
"popular" lists, comments, editors' credits and copyright footers.

For each page and extractor it counts the body paragraphs found (recall) and the pieces
of furniture that leaked into the text, before and after bulletin's own cleanup
(:func:`bulletin.sources.pages.extract`, which is trafilatura plus what it misses).

Run: ``.venv/bin/python bench/extract_bench.py`` (readability-lxml is not a dependency:
``pip install readability-lxml lxml_html_clean`` first to measure it).
"""

from __future__ import annotations

import time
from pathlib import Path

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"

#: Per page: a phrase from every body paragraph, and furniture that must not be read.
GOLD: dict[str, tuple[list[str], list[str]]] = {
    "cna-quake.html": (
        ["芮氏規模6.4地震", "約有1200戶受到影響", "成立情報聯絡室", "同等規模的餘震"],
        [
            "分享到",
            "複製連結",
            "避難所休息",
            "點我領取",
            "編輯：",
            "延伸閱讀",
            "災區重建",
            "非經授權",
            "熱門新聞",
            "台股收盤",
            "版權所有",
            "首頁",
            "產經",
        ],
    ),
    "xinhua-cpi.html": (
        ["同比上涨0.3%", "鲜菜价格下降3.2%", "核心CPI同比上涨0.6%", "保持温和回升"],
        [
            "分享到",
            "微信",
            "摄",
            "责任编辑",
            "相关新闻",
            "PPI同比下降",
            "网友评论",
            "工资也能涨",
            "All Rights",
            "新华网首页",
        ],
    ),
    "udn-flash.html": (
        ["出動消防車40輛", "疏散民眾約300人", "引導各樓層上班族", "加強轄區高樓"],
        [
            "看更多",
            "第三起高樓火警",
            "贊助廣告",
            "#火警",
            "延伸閱讀",
            "一家三口",
            "辛苦消防員",
            "版權所有",
            "會員登入",
            "Line",
        ],
    ),
    "portal-rate.html": (
        ["調降政策利率半碼", "支撐內需與經濟成長", "每月可少繳約1200元", "股市午後翻紅"],
        [
            "分享至",
            "收藏",
            "責任編輯",
            "你可能也想看",
            "聯準會維持利率",
            "網友留言",
            "存款族",
            "年輕人還是買不起",
            "排行榜",
            "颱風假",
            "廣告",
            "版權所有",
        ],
    ),
}


def _decode(name: str) -> str:
    from bulletin.sources.pages import decode_html

    return decode_html((PAGES / name).read_bytes())[0]


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=False) or ""


def readability_text(html: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content()


def bulletin_text(html: str) -> str:
    from bulletin.sources.pages import extract

    page = extract(html.encode(), url=None, declared=None)
    return "\n".join(page.paragraphs)


def main() -> None:
    extractors = {"trafilatura": trafilatura_text, "readability": readability_text, "bulletin": bulletin_text}
    print(f"{'page':<18} {'extractor':<12} {'body':>6} {'furniture leaked':<40} {'ms':>6}")
    totals: dict[str, list[int]] = {k: [0, 0, 0, 0] for k in extractors}
    for name, (body, furniture) in GOLD.items():
        html = _decode(name)
        for label, fn in extractors.items():
            try:
                start = time.perf_counter()
                text = fn(html)
                ms = (time.perf_counter() - start) * 1000
            except ImportError as exc:
                print(f"{name:<18} {label:<12} not installed ({exc.name})")
                continue
            found = sum(1 for b in body if b in text)
            leaked = [f for f in furniture if f in text]
            t = totals[label]
            t[0] += found
            t[1] += len(body)
            t[2] += len(leaked)
            t[3] += len(furniture)
            print(
                f"{name:<18} {label:<12} {found:>2}/{len(body):<3} {len(leaked):>2}/{len(furniture):<3} "
                f"{' '.join(leaked)[:34]:<34} {ms:6.1f}"
            )
    print()
    for label, (found, body, leaked, furniture) in totals.items():
        if body:
            print(f"{label:<12} body recall {found}/{body}, furniture leaked {leaked}/{furniture}")


if __name__ == "__main__":
    main()

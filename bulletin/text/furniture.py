"""What a newsreader never says: every class of furniture, in one table (:data:`KINDS`).

Furniture is what a news site, a portal or a wire puts around and inside an article that
is not the story: the promo for the site's app, a photo's caption and credit, the comment
box's disclaimer, lists of other stories, the byline, the dateline, the wire's date code,
the copyright line, the share row, ads, the editor's credit, public-service boilerplate and
the note naming where a story was first printed. Each is a *class*, the same on every site
that has it, so each is described once here by what it looks like, never by which site
prints it (a second set of real pages, unseen, is scored the same way: bench/README.md):

* ``lines``: a paragraph that matches is furniture, whole (only up to ``line_max``
  characters: a long paragraph that happens to hold the words is the story);
* ``tails``: a piece taken off the end of a paragraph it was glued to
  (``…至關重要。(本文來自東方日報，更多原創資訊請下載東方日報APP)``);
* ``markup``: words in an element's ``class`` or ``id`` that mark it as this furniture on a
  page (``div.share-bar``, ``p.pic-text``, ``div#comments``), used by
  :mod:`bulletin.sources.markup` before the article is extracted;
* ``where``: the module that applies the class's text rules: ``"pages"`` for what only
  pages and feed content carry (:func:`strip`, from :mod:`bulletin.sources.pages`),
  ``"structure"`` for what wire copy in plain text carries too (datelines, bylines, wire
  codes, editor credits: :mod:`bulletin.text.structure`, whose patterns are these).

``examples`` are real shapes of each class (names and numbers changed); the tests put
every one of them into pages and articles written for the purpose and check it is not
read (``tests/test_furniture.py``). Pure data and pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bulletin.text.chars import CLOSERS, SENTENCE_END, split_sentences

_NUM = "0-9一二三四五六七八九十〇○"
_OPEN = "（(【〔［\\["
_CLOSE = "）)】〕］\\]"
#: News agencies and papers whose datelines open wire copy (both scripts).
AGENCIES = (
    "中央社|中央通訊社|中央通讯社|新華社|新华社|中新社|中新網|中新网|法新社|路透社|路透|美聯社|美联社|"
    "共同社|韓聯社|韩联社|德新社|塔斯社|人民網|人民网|央視新聞|央视新闻|大紀元|大纪元"
)
#: What an outlet's name ends with (央广网, 長江日報, 東森新聞): the head of a generic dateline.
_OUTLET = (
    r"[\u4e00-\u9fff]{1,8}?"
    r"(?:網|网|社|報|报|台|臺|新聞|新闻|電視|电视|廣播|广播|日報|日报|晚報|晚报|時報|时报)"
)

# --------------------------------------------------------------------------- datelines and bylines
# (applied by text/structure.py to every article; kept here so the table is whole)

#: ``（中央社記者張茂森台北26日電）``, ``（法新社巴黎26日綜合外電）``
BRACKETED_DATELINE = re.compile(
    rf"^[（(]\s*(?:{AGENCIES})[^（()）]{{0,40}}?(?:[電电]|外[電电])(?:報導|报道)?\s*[）)]\s*"
)
#: ``新华社北京11月26日电（记者 王小明）``, ``中央社記者張茂森台北26日專電``
DATELINE = re.compile(
    rf"^(?:{AGENCIES})[^，。,；;\s（(]{{0,30}}?[{_NUM}]+日\s*(?:專|专|綜合|综合)?\s*(?:[電电]|外[電电]|消息|[讯訊])"
    rf"\s*(?:[（(][^）)]{{0,30}}[）)])?\s*[，,：:]?\s*"
)
#: Any outlet's dateline: ``央广网北京2月13日消息，``, ``長江日報武漢訊（記者 王小明）``,
#: ``东方网3月2日电：``: an outlet, a place, a date, then 电/消息/讯 (a date is needed unless a
#: reporter's bracket follows: ``长江网武汉讯（记者…）``).
OUTLET_DATELINE = re.compile(
    rf"^{_OUTLET}[^，。,；;\s（(]{{0,12}}?(?:(?:[{_NUM}]+月)?[{_NUM}]+日\s*(?:專|专)?\s*(?:[電电]|消息|[讯訊])"
    rf"(?=[\s，,：:（(]|$)\s*(?:[（(][^）)]{{0,30}}[）)])?|[讯訊]\s*[（(](?:記者|记者|通訊員|通讯员)[^）)]{{0,30}}[）)])"
    rf"\s*[，,：:]?\s*"
)
#: ``本報訊``, ``本报讯（记者 陈大文）``, ``本報綜合報導``, ``〔即時新聞，綜合外電〕``
PAPER = re.compile(
    r"^(?:本[報报][訊讯]|本[報报]綜合報導|本报综合报道|綜合報導|综合报道|綜合外電|综合外电)"
    r"\s*(?:[（(][^）)]{0,30}[）)])?\s*[，,：:]?\s*"
    r"|^[〔【\[（(]\s*(?:[^〕】\]）)，,／/]{1,8}[，,／/]\s*)?"
    r"(?:本[報报][訊讯]|綜合報導|综合报道|綜合外電|综合外电)\s*[〕】\]）)]\s*"
)
#: ``【記者林小美／台北報導】``, ``〔記者王小明／台北報導〕``, ``（文／記者王小明）``
BRACKETED_BYLINE = re.compile(
    rf"^[{_OPEN}]\s*(?:[^{_CLOSE}]{{0,8}}[，／/]\s*)?(?:記者|记者|文[，／/]|圖[，／/]|图[，／/]|撰文|特派員|特派员)"
    rf"[^{_CLOSE}]{{0,40}}[{_CLOSE}]\s*"
)
#: A paragraph that is only a byline: ``記者林小美／台北報導``, ``聯合報／記者林小美／台北即時報導``,
#: ``华夏新闻记者 王小明 李四``
BYLINE_LINE = re.compile(
    r"^(?:[^，。,\s]{1,10}[，／/]\s*|[^，。,\s]{2,8}(?=記者|记者))?(?:記者|记者|文[，／/]|撰文[，／/：:])[^。！？]{1,30}?"
    r"(?:報導|报道|綜合報導|综合报道|即時報導|即时报道)?$"
)
#: ``記者王小明／台北報導`` run into the text after it (repair joined a two-line article)
BYLINE_PREFIX = re.compile(
    r"^(?:[^，。\s]{1,10}[，／/]\s*)?(?:記者|记者)[^，。！？]{1,12}[，／/][^，。！？]{1,10}?"
    r"(?:即時|即时)?(?:報導|报道)\s*[，,：:]?\s*"
)
#: A reporter's bracket inside or at the end of a paragraph: ``…不要放棄救人。（林大同報導）``,
#: ``（記者王小明／台北報導）``, ``（评论员，罗博，萧海川）``, ``（实习生王金茹对此文亦有贡献）``.
BYLINE_ANYWHERE = re.compile(
    r"\s*[（(]\s*(?:(?:記者|记者|文|圖|图|編譯|编译|綜合|综合)\s*[，,／/]?\s*)?[\u4e00-\u9fff·]{2,4}"
    r"(?:\s*[，,、／/]\s*[\u4e00-\u9fff·]{2,4}){0,3}\s*[，,／/]?\s*(?:[\u4e00-\u9fff]{2,3}\s*)?"
    r"(?:報導|报道|編譯|编译|整理|採訪|采访)\s*[）)]"
    r"|\s*[（(]\s*(?:[\u4e00-\u9fff]{1,6}?)?(?:評論員|评论员|記者|记者|通訊員|通讯员|實習生|实习生|特約記者|"
    r"特约记者|作者|編譯|编译|翻譯|翻译)\s*[，,：:／/]?\s*"
    r"[^（）()。！？]{1,30}[）)]\s*$"
)
#: ``快訊／``, ``【快訊】``, ``快讯：``
FLASH = re.compile(
    r"^(?:【\s*(?:快訊|快讯|獨家|独家|最新|突發|突发|即時|即时)\s*】|"
    r"(?:快訊|快讯|獨家|独家|最新消息|突發|突发|即時|即时)\s*[，／/：:｜|])\s*"
)
#: An editor's credit run onto the end of the last paragraph, with CNA's serial number
#: (``…濺落印度洋。（編輯：林克倫）1151126``); repair drops such credits on lines of their own.
CREDIT_TAIL = re.compile(
    r"\s*[（(]\s*(?:責任編輯|责任编辑|編輯|编辑|譯者|译者|核稿|審校|审校)\s*[：:][^（()）]{1,20}[）)]"
    r"(?:\s*[（(]?\s*[0-9]{4,8}\s*[）)]?)?\s*$"
)
#: A wire's date code after the last sentence: CNA's ``…前景可期。1141126`` (民國 114 年 11 月 26 日).
WIRE_CODE = re.compile(rf"(?<=[{re.escape(SENTENCE_END + CLOSERS)}])\s*[（(]?\s*[0-9]{{6,8}}\s*[）)]?\s*$")


#: How many sentences the short kinds of furniture hold at most in markup.
SHORT_BLOCK = 2


@dataclass(frozen=True)
class Kind:
    """One class of furniture: what it is, what it looks like, and how it is found."""

    name: str
    what: str
    examples: tuple[str, ...]
    lines: re.Pattern[str] | None = None
    line_max: int = 120
    tails: re.Pattern[str] | None = None
    markup: frozenset[str] = field(default_factory=frozenset)
    where: str = "pages"
    #: Only lines that end no sentence (a share row, a list heading; not 收藏家表示…。).
    unless_sentence: bool = False
    #: Only lines of at most this many sentences, and a credit after them (a caption is
    #: one; a story's paragraph with a caption glued to it is more, and loses only the tail).
    max_sentences: int | None = None
    #: An element its markup names as this kind is furniture only up to this many
    #: sentences (None: any length): a byline, a caption or an ad is a line or two, and a
    #: site that calls its story's blocks ``editor-content`` or ``author`` keeps its story.
    markup_max: int | None = SHORT_BLOCK


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Where a promo sends the reader: the app, an account, a QR code.
_CHANNEL = (
    r"(?:APP|App|app|客戶端|客户端|二維碼|二维码|公眾號|公众号|微信|微博|官方帳號|官方账号|粉絲團|"
    r"粉丝团|粉專|頻道|频道|YouTube|Facebook|臉書|脸书|LINE|Line|Instagram|抖音|Twitter|Plurk|"
    r"Threads|Telegram)"
)
#: A sentence that sends the listener to the site's app, account or QR code: it needs the
#: site's voice (歡迎, 更多, 本文來自, 長按, 掃描下方) as well as the act and the channel, so a
#: story telling people to download a government app is read.
_PROMO = (
    r"(?:歡迎|欢迎|更多|本文來自|本文来自|長按|长按|點此|点此|點擊下方|点击下方|"
    r"[掃扫][描碼码][左右上下]方|"
    r"[掃扫][描碼码]二[維维][碼码])[^。！？!?]{0,40}?"
    r"(?:下載|下载|安裝|安装|掃描|扫描|掃碼|扫码|識別|识别|關注|关注|訂閱|订阅|追蹤|追踪|加入|按讚|"
    r"點讚|点赞|收看)"
    r"[^。！？!?]{0,30}?" + _CHANNEL
)

KINDS: tuple[Kind, ...] = (
    Kind(
        "promos",
        "the site's own app, account, newsletter or QR code, often glued to the last paragraph",
        (
            "還想看更多新聞嗎？歡迎下載東方日報APP，現在看新聞還能抽獎，共3萬個好禮等著你：",
            "更多好料！欢迎扫描左方二维码关注华夏新闻官方微信（huaxia-news）",
            "(本文来自南方快报，更多原创资讯请下载“南方快报”APP)",
            "歡迎加入東方新聞LINE官方帳號，即時新聞不漏接！",
        ),
        lines=re.compile(  # a promo glued to the story is a tail, taken off below
            r"^\W{0,3}(?:點我|点我|點擊|点击|下載|下载|訂閱|订阅|追蹤|追踪|關注|关注|加入|按讚|点赞)"
            r"[^。！？]{0,30}" + _CHANNEL[:-1] + "|好友)"
        ),
        line_max=150,
        tails=re.compile(
            rf"(?:^|(?<=[{re.escape(SENTENCE_END + CLOSERS)}]))\s*(?:[^。！？!?]{{0,14}}[！？!?]\s*)?"
            rf"[（(]?[^。！？!?（(]{{0,20}}{_PROMO}[^。！？!?]*"
            rf"(?:[。！？!?：:]+[{re.escape(CLOSERS)}]*[^。！？!?]*)*$"
        ),
        markup=_words(
            "promo promotion download downloadapp app appdown qrcode qr ewm weixin wechat follow subscribe"
        ),
    ),
    Kind(
        "captions",
        "photo captions and photo credits",
        (
            "图注：一名宇航员在空间站内整理实验设备",
            "▲消防人員在火場外架設水線。（圖／翻攝畫面）",
            "村民说，河水一夜之间涨了两米多。 王先生供图",
            "本文图片除特别标注外，均为本报记者王小明摄",
            "這棟老公寓位於市區的巷弄內。（圖翻攝自Google地圖）",
            "圖／記者林小美攝",
        ),
        lines=re.compile(
            r"^[（(【\[]?\s*(?:圖為|图为|(?:圖說|图说|圖註|图注|圖片說明|图片说明|圖片來源|图片来源|照片|資料照|资料照|"
            r"資料圖|资料图|圖|图)\s*[：:／/])"
            r"|^[▲▼△▽↑]"
            r"|(?:攝|摄|攝影|摄影|供圖|供图|提供|翻攝|翻摄|截圖|截图|資料照|资料照|資料圖|资料图)\s*[）)]?$"
            r"|[（(]\s*(?:圖|图|照片|圖片|图片|翻攝|翻摄|影片|視頻|视频|截圖|截图)[^（）()]{0,24}[）)]$"
        ),
        line_max=80,
        max_sentences=1,
        tails=re.compile(
            r"(?:本文|文中|以上)?(?:圖片|图片|照片|配圖|配图)(?:除[^。，！？]{0,12}外)?[，,]?\s*(?:均為|均为|皆為|皆为|均由|皆由|"
            r"均來自|均来自|來源|来源)[^。！？]{0,40}$"
            r"|(?<=[。！？!?」”）)])\s*[^\s。！？，]{1,16}(?:供圖|供图|攝|摄|翻攝|翻摄)\s*$"
            r"|\s*[（(]\s*(?:圖|图|照片|圖片|图片|翻攝|翻摄|截圖|截图)[^（）()]{0,24}[）)]$"
            r"|\s*[▲▼△▽][^▲▼△▽]{0,120}$"
        ),
        markup=_words(
            "caption captions figcaption pictext pictxt pictitle picnote picdesc imgtext imgtxt "
            "imgdesc imgnote imagecaption photocaption phototext photodesc photonote picintro tupian"
        ),
    ),
    Kind(
        "comments",
        "the comment box: its disclaimer, prompts and the comments themselves",
        (
            "网友评论仅代表其个人看法，并不表明本站立场。",
            "留言僅代表網友個人意見，不代表本網立場",
            "發表評論",
            "文明上网，理性发言",
        ),
        lines=re.compile(
            r"(?:網友|网友|讀者|读者)?(?:評論|评论|留言|跟帖)(?:內容|内容)?(?:僅|仅|只)(?:供|代表)"
            r"|不(?:代表|表明)[^，。]{0,8}(?:立場|立场|觀點|观点)"
            r"|^(?:發表|发表|我要|全部|熱門|热门|最新|查看|更多)(?:評論|评论|留言|跟帖)"
            r"|文明上[網网]|理性[發发]言|^(?:登錄|登录|註冊|注册)(?:後|后)?(?:發表|发表|留言|評論|评论)"
        ),
        line_max=80,
        markup=_words("comment comments cmt cmts reply replies discuss discussion pinglun disqus talkback"),
        markup_max=None,
    ),
    Kind(
        "link lists",
        "lists of other stories: related, recommended, most read, the editor's recent articles, tags",
        (
            "相關新聞",
            "小编近期文章",
            "猜你喜欢",
            "延伸閱讀：北市大樓火警 疏散300人",
            "看更多：颱風假一次看",
        ),
        lines=re.compile(
            r"^(?:上一|下一|前一|後一|后一)[則则篇頁页][：:]"
            r"|^[\W_]{0,3}(?:看更多|更多新聞|更多新闻|延伸閱讀|延伸阅读|相關新聞|相关新闻|相關報導|相关报道|推薦閱讀|推荐阅读|"
            r"熱門新聞|热门新闻|猜你喜歡|猜你喜欢|為您推薦|为您推荐|你可能|您可能|點我看|点我看)"
            r"|^(?:相關|相关|延伸|推薦|推荐|熱門|热门|最新|最近|精彩|小編|小编|編輯|编辑)[^。！？，]{0,6}"
            r"(?:新聞|新闻|閱讀|阅读|文章|報導|报道|推薦|推荐|專題|专题|影音|視頻|视频)$"
        ),
        line_max=60,
        unless_sentence=True,
        markup=_words(
            "related relate recommend recommends recommended recommendation recommendations tuijian "
            "xiangguan xgxw xgwz hot hotnews hotlist rank ranking toplist morenews readmore sidebar "
            "side guesslike youlike tags tag keywords keyword"
        ),
        markup_max=None,
    ),
    Kind(
        "bylines",
        "who wrote it: the reporter's bracket or line, anywhere in the body",
        (
            "（林大同報導）",
            "【記者林小美／台北報導】",
            "华夏新闻记者 王小明 李四",
            "（评论员，张三，李四）",
            "（编译，王五）",
        ),
        markup=_words("author authors byline writer reporter zuozhe"),
        where="structure",
    ),
    Kind(
        "datelines",
        "where and when the story was filed, and the publication-time row",
        (
            "（中央社記者王小明台南4日電）",
            "华夏网北京2月13日消息，",
            "新华社北京11月17日电",
            "本報訊",
            "〔即時新聞，綜合外電〕",
        ),
        markup=_words("time date datetime pubtime pubdate publishtime posttime dateline"),
        where="structure",
    ),
    Kind(
        "wire codes",
        "a wire's date or serial code after the last sentence, read aloud as a number",
        ("…前景可期。1141126", "…濺落印度洋。（編輯：林克倫）1151126"),
        where="structure",
    ),
    Kind(
        "copyright",
        "copyright and reprint notices",
        (
            "原创内容，禁止商业转载",
            "本站文字與圖片，非經授權不得轉載。",
        ),
        lines=re.compile(
            r"版[權权]所有|不得[轉转]載|不得转载|未[經经][授许][權权可]|非[經经]授[權权]|"
            r"All Rights Reserved|Copyright|"
            r"版[權权][聲声]明|免[責责][聲声]明|[轉转]載請|转载请|禁止[^，。]{0,4}[轉转][載载]|"
            r"[授商][權权业業][轉转]載|授权转载|原[創创]版[權权]",
        ),
        line_max=200,
        markup=_words("copyright copyrights disclaimer banquan shengming statement"),
    ),
    Kind(
        "share rows",
        "share buttons, print and font-size controls",
        ("分享到：微信 微博 QQ空间", "分享此文", "字型大小", "分享 Facebook LINE"),
        lines=re.compile(
            r"^(?:我要)?(?:分享|轉寄|转寄|列印|打印|收藏|轉貼|转贴|字級|字级|字型|字體|字体|小字型|大字型|中字型)"
            r"|(?:Facebook|LINE|Twitter|微信|微博|QQ空[間间]|臉書|脸书|Plurk).{0,12}(?:Facebook|LINE|Twitter|微信|"
            r"微博|QQ空[間间]|臉書|脸书|Plurk)"
        ),
        line_max=40,
        unless_sentence=True,
        markup=_words(
            "share shares sharing sharebar social bdshare jiathis fenxiang toolbar tools print fontsize"
        ),
    ),
    Kind(
        "ads",
        "advertisements and the 'read on' marks around them",
        ("请继续往下阅读", "廣告", "贊助廣告"),
        lines=re.compile(
            r"^(?:廣告|广告|贊助|赞助|推廣|推广|AD|Advertisement|Sponsored)|[請请][繼继][續续]往下[閱阅][讀读]|"
            r"^[繼继][續续][閱阅][讀读]|^(?:點擊|点击)(?:查看|閱讀|阅读|進入|进入)",
            re.IGNORECASE,
        ),
        line_max=40,
        unless_sentence=True,
        markup=_words(
            "ad ads adv advert adverts advertisement advertising sponsor sponsored gg guanggao banner dfp "
            "adsbygoogle adbox adslot"
        ),
    ),
    Kind(
        "editor credits",
        "the editor's, proof-reader's or translator's credit",
        ("責任編輯：王小明", "（編輯：陳俊華）", "（实习生李四对此文亦有贡献）"),
        lines=re.compile(
            r"^[（(【\[]?\s*(?:責任編輯|责任编辑|編輯|编辑|校對|校对|審核|审核|審校|审校|監製|监制|主編|主编|值班編輯|"
            r"值班编辑|實習編輯|实习编辑|美編|美编|編審|编审|譯者|译者|核稿)\s*[：:]"
            r"|亦有[貢贡][獻献][）)]?$"
        ),
        line_max=60,
        markup=_words("editor editors zrbj bianji"),
        where="structure",
    ),
    Kind(
        "notices",
        "public-service boilerplate: suicide hotlines, drinking and gambling warnings",
        (
            "自殺防治諮詢安心專線：1925；生命線協談專線：1995",
            "自殺解決不了問題，請撥打安心專線求助。",
            "喝酒不開車，安全有保障。",
            "●《東方新聞》提醒您，請給自己一個機會：",
        ),
        lines=re.compile(
            r"自殺防治|自杀防治|安心專線|生命線協談|張老師專線|心理援助[熱热]線|自殺解決不了|自杀解决不了|喝酒不開車|"
            r"酒後不開車|酒后不开车|飲酒過量|饮酒过量|未滿十八歲禁止|未满十八岁禁止|禁止酒駕|拒絕酒駕|"
            r"^\W{0,2}《[^》]{1,12}》(?:提醒|關心|关心)您"
        ),
        line_max=100,
    ),
    Kind(
        "source notes",
        "where the story was first printed, its original or repeated title",
        ("原标题：长江大桥主体工程完工", "来源：华夏网", "（刊於《東方日報》A2版）"),
        lines=re.compile(
            r"^[（(【\[]?\s*(?:原標題|原标题|標題|标题|副標題|副标题|來源|来源|稿源|出處|出处|轉自|转自|本文來源|本文来源|文章來源|文章来源|"
            r"轉載自|转载自)\s*[：:]"
        ),
        tails=re.compile(
            r"\s*[（(]\s*(?:刊於|刊于|原載|原载|轉載自|转载自|本文轉自|本文转自)[^（）()]{0,40}[）)]\s*$"
        ),
        line_max=100,
    ),
)

#: Class and id words of elements that are no part of the story whatever their text: the
#: site's navigation and footers (by their tags, ``nav`` and ``footer``, trafilatura drops too).
NAVIGATION = _words("nav navbar navigation menu submenu breadcrumb breadcrumbs crumb crumbs footer topbar")
#: Words that mark an element the page does not show.
HIDDEN = _words("hidden hide invisible")
#: ...unless on some screens only (``hidden-xs``, ``hide-mobile``: shown on the others).
SCREENS = _words("xs sm md lg xl xxl mobile phone tablet pc desktop wap m print")

BY_NAME = {kind.name: kind for kind in KINDS}
_LINE_KINDS = tuple(k for k in KINDS if k.lines is not None and k.where == "pages")
_TAIL_KINDS = tuple(k for k in KINDS if k.tails is not None and k.where == "pages")


def markup_kind(words: frozenset[str] | set[str]) -> str | None:
    """The kind an element's class and id words mark it as (see :data:`KINDS`), if any."""
    if words & HIDDEN and not words & SCREENS:
        return "hidden"
    if words & NAVIGATION:
        return "navigation"
    for kind in KINDS:
        if words & kind.markup:
            return kind.name
    return None


def line_kind(line: str) -> str | None:
    """The kind of furniture this whole paragraph is, or None when it may be the story."""
    ends = line.rstrip(CLOSERS + " ")[-1:] in SENTENCE_END
    for kind in (*_LINE_KINDS, BY_NAME["editor credits"]):
        if kind.unless_sentence and ends:
            continue
        if kind.max_sentences is not None and len(split_sentences(line)) > kind.max_sentences + 1:
            continue
        if kind.lines is not None and len(line) <= kind.line_max and kind.lines.search(line):
            return kind.name
    return None


def strip_tails(line: str) -> tuple[str, list[tuple[str, str]]]:
    """``line`` without the furniture glued to its end, and what was taken off (kind, text)."""
    removed: list[tuple[str, str]] = []
    for _ in range(4):
        for kind in _TAIL_KINDS:
            assert kind.tails is not None
            m = kind.tails.search(line)
            if m and m.group().strip():
                removed.append((kind.name, m.group().strip()))
                line = line[: m.start()].rstrip()
                break
        else:
            break
    return line, removed

"""What drivers type instead of a menu title, in one table: each phrasing starts a journey or
gets a helpful answer.

The engine looks a message up here where it matches its menu words (bot/engine.py). Outside a
journey a phrasing starts its journey (or answers, with the menu); inside one, only answers
apply: they are shown above the same question, so a stray "你好" never ends what the user is
doing. Wording for reaching a person lives here too, so there is one place to change it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Synonym:
    """A phrasing's meaning: the journey it starts (a flow name), or an answer to show."""

    flow: str | None = None
    answer: str | None = None


GREETING = "您好！这里是交巡警，可以在对话中办理以下服务。"
PERSON = ("本账号暂无在线人工客服。如需人工帮助，请拨打12345政务服务便民热线，"
          "或到就近的公安交管部门业务窗口办理（工作日办公时间）；发生交通事故请拨打122报警。")

_PHRASINGS: dict[Synonym, tuple[str, ...]] = {
    Synonym(flow="query_vehicle"): ("查违章", "违章", "查违法", "违章查询", "违法查询",
                                    "查询违章", "查车", "车辆违章"),
    Synonym(flow="query_licence"): ("查驾照", "驾照", "查驾驶证", "驾驶证", "查分", "查扣分",
                                    "扣分", "记分"),
    Synonym(flow="follow_vehicle"): ("关注", "关注车辆", "关注好友", "关注亲友车辆", "关注朋友车辆",
                                     "绑定好友车辆"),
    Synonym(flow="account"): ("我的", "我的车", "个人中心", "账户", "我的账号"),
    Synonym(flow="register"): ("注册", "实名", "实名认证", "认证", "绑定", "注册账号"),
    Synonym(answer=GREETING): ("你好", "您好", "在吗", "在不在", "嗨", "hi", "hello"),
    Synonym(answer=PERSON): ("人工", "客服", "人工客服", "转人工", "找人工", "电话", "投诉",
                             "客服电话"),
}
SYNONYMS: dict[str, Synonym] = {
    phrase: synonym for synonym, phrases in _PHRASINGS.items() for phrase in phrases
}
_TRIM = " \t\r\n.。!！?？~～,，、"


def lookup(text: str) -> Synonym | None:
    """The meaning of a whole message, ignoring case and the punctuation around it."""
    return SYNONYMS.get(text.strip(_TRIM).lower())

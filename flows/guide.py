"""使用指南: a short help journey that explains what the account can do.

Its topics are built from the journeys registered in the menu (``build``), so the guide
never promises a service the account does not offer; a journey without a text in
``JOURNEYS`` is a gap a test reports.
"""

from collections.abc import Sequence

from bot.engine import Choice, Done, Flow, State
from bot.synonyms import PERSON

TITLE, CLICK_KEY = "使用指南", "GUIDE"
# How to use each journey, by flow name; topics are titled with the journey's menu title.
JOURNEYS = {
    "query_vehicle": "选择号牌种类，再输入号牌号码和车架号后六位，即可查看该车的交通违法记录。"
                     "本服务支持查询重庆市登记的机动车（“渝”字号牌）。",
    "query_licence": "输入驾驶人姓名、驾驶证号（即身份证号码）和12位档案编号，即可查看该驾驶证"
                     "的违法记录和本记分周期的累积记分。",
    "follow_vehicle": "实名注册后，输入亲友车辆的号牌种类、号牌号码和车架号后六位，经车主同意即可"
                      "关注该车，随时查看其违法记录。车主是本平台用户的在对话中同意，否则向车主"
                      "登记的手机号发送短信验证码。每人可同时关注的车辆数、每年的关注次数和每辆车"
                      "的关注人数有限，超出时会说明。",
    "account": "实名注册后，可以查看本人驾驶证、名下车辆及其违法记录；违法详情会按您本人驾驶证"
               "的状态和记分说明能否在线处理。",
    "register": "输入姓名、身份证号码和手机号码，完成刷脸认证即可实名注册；多次刷脸未通过时，"
                "可改用发送到公安机关登记手机号的短信验证码。",
    "follow_licence": "实名注册后，输入亲友的姓名、驾驶证号和12位档案编号，经持证人同意即可关注该"
                      "驾驶证，随时查看其记分和违法记录；同意方式与关注车辆相同，每年的关注次数"
                      "与关注车辆共用。",
    "process_violation": "实名注册后，可在线处理本人名下车辆和已关注车辆的非现场简易程序违法"
                         "（罚款200元以下）。处理前会显示处理后的记分；他人车辆的记分违法需车主"
                         "先刷脸认证同意，再由您本人刷脸认证。处理后24小时内生成处理通知书，"
                         "罚款须在15日内缴清。",
    "pay_fine": "选择本人名下车辆、关注车辆或本人驾驶证的待缴罚款，或输入处罚决定书编号，确认"
                "罚款和滞纳金后通过支付宝缴纳，缴款结果会在对话中通知您。决定作出15日后每日按"
                "罚款的3%加处滞纳金，最多不超过罚款本身。缴款期限前3天和开始加收滞纳金时会提醒"
                "实名注册的车主和持证人，可在“罚款缴纳”中关闭提醒。",
}
# Topics about the account itself rather than one journey.
GENERAL = {
    "服务时间": "查询全天可用；每日22:00至次日00:30系统维护，暂停缴款。",
    "联系人工": PERSON,
}

MORE = (Choice("了解其他内容", goto="topics"), Choice("结束", value="end"))


def build(journeys: Sequence[Flow]) -> Flow:
    """The guide to these journeys (those in the menu that have a text), then the general
    topics."""
    topics = {flow.title: JOURNEYS[flow.name] for flow in journeys
              if flow.in_menu and flow.name in JOURNEYS} | GENERAL

    async def answer_prompt(ctx) -> str:
        return topics[ctx.data["topic"]] + "\n\n还需要了解什么？"

    async def end(ctx, value) -> Done:
        return Done("感谢使用。回复“菜单”可随时查看全部服务。")

    return Flow(
        name="guide",
        title=TITLE,
        click_key=CLICK_KEY,
        start="topics",
        states={
            "topics": State(
                prompt="您想了解哪方面的内容？",
                choices=tuple(Choice(topic) for topic in topics),
                save="topic",
                then="answer",
            ),
            "answer": State(prompt=answer_prompt, choices=MORE, then=end),
        },
    )

"""使用指南: a short help journey that explains what the account can do."""

from bot.engine import Choice, Done, Flow, State

TOPICS = {
    "查询交通违法": "回复“菜单”选择“查询车辆违法”，依次输入号牌种类、号牌号码和"
                    "车架号后六位即可查看。查询驾驶证违法需要姓名、驾驶证号和档案编号。",
    "关注好友车辆": "关注他人车辆需要车主本人同意：我们会向车主在公安机关登记的手机号发送验证码。"
                    "每人最多同时关注 2 辆他人车辆。",
    "处理和缴款": "非现场、简易程序且罚款 200 元及以下的违法可以在线处理，处理前需要刷脸认证。"
                  "罚款须在决定之日起 15 日内缴纳，逾期每日加处 3% 滞纳金。",
    "服务时间": "查询全天可用；每日 22:00 至次日 00:30 系统维护，暂停缴款。",
}

MORE = (Choice("了解其他内容", goto="topics"), Choice("结束", value="end"))


async def _answer_prompt(ctx) -> str:
    return TOPICS[ctx.data["topic"]] + "\n\n还需要了解什么？"


async def _end(ctx, value) -> Done:
    return Done("感谢使用。回复“菜单”可随时查看全部服务。")


FLOW = Flow(
    name="guide",
    title="使用指南",
    click_key="GUIDE",
    start="topics",
    states={
        "topics": State(
            prompt="您想了解哪方面的内容？",
            choices=tuple(Choice(topic) for topic in TOPICS),
            save="topic",
            then="answer",
        ),
        "answer": State(prompt=_answer_prompt, choices=MORE, then=_end),
    },
)

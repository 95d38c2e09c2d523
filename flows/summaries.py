"""How records read in replies, personal data masked; shared by the journeys that show them."""

from bot.masking import mask_id_number, mask_name
from models.licence import DriverLicence


def licence_summary(licence: DriverLicence) -> str:
    """A licence at a glance: holder, class, status, validity and this cycle's points."""
    return "\n".join([
        f"驾驶人：{mask_name(licence.holder_name)}",
        f"驾驶证号：{mask_id_number(licence.number)}",
        f"准驾车型：{licence.licence_class.value}（{licence.licence_class.label}）",
        f"状态：{licence.status.label}",
        f"有效期：{licence.valid_from:%Y-%m-%d} 至 {licence.valid_to:%Y-%m-%d}",
        f"本记分周期（{licence.cycle_start:%Y-%m-%d} 起）累积记分：{licence.points}分",
    ])


OFFENCE_CHARS = 18  # a list line names the offence in about this much; the detail in full


def offence(description: str) -> str:
    """The offence in a few words for a list line: the legal wording without the vehicle it
    is about ("驾驶机动车违反道路交通信号灯通行的" -> "违反道路交通信号灯通行"), cut to
    ``OFFENCE_CHARS``."""
    words = description.removesuffix("的")
    subject = words.split("，")[0].rfind("机动车")  # "驾驶…以外的其他机动车行驶超过…" too
    if subject >= 0 and words[subject + 3:]:  # "饮酒后驾驶机动车" keeps its words
        words = words[subject + 3:]
    return words if len(words) <= OFFENCE_CHARS else words[:OFFENCE_CHARS] + "…"

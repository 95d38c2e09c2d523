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

"""User journeys, one module per journey. The menu shows them in this order."""

from flows import (
    account,
    face_check,
    follow_consent,
    follow_licence,
    follow_vehicle,
    followed_licence,
    followed_vehicle,
    guide,
    pay_fine,
    process_violation,
    query_licence,
    query_vehicle,
    register,
    sms_code,
)

JOURNEYS = [
    query_vehicle.FLOW,
    query_licence.FLOW,
    follow_vehicle.FLOW,
    account.FLOW,
    register.FLOW,
    follow_licence.FLOW,  # last: the numbers of the others stay as users learnt them
    process_violation.FLOW,
    pay_fine.FLOW,
]
# The guide explains what is registered; the sub-journeys are called by journeys only, and
# the owner's side of a follow request is opened from a pending item.
ALL_FLOWS = [*JOURNEYS, guide.build(JOURNEYS), face_check.FLOW, sms_code.FLOW,
             followed_vehicle.FLOW, followed_vehicle.OWN_FLOW, followed_licence.FLOW,
             followed_licence.OWN_FLOW, follow_consent.FLOW,
             process_violation.OWNER]

# The WeChat custom menu: (top-level button, [click keys of its flows]).
MENU_LAYOUT = [
    ("违法查询", ["QUERY_VEHICLE", "QUERY_LICENCE", "FOLLOW_VEHICLE", "FOLLOW_LICENCE"]),
    ("我的", ["MY_ACCOUNT", "REGISTER", "PROCESS_VIOLATION", "PAY_FINE"]),
    ("服务指南", ["GUIDE"]),
]

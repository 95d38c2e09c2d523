"""User journeys, one module per journey. The menu shows them in this order."""

from flows import guide

ALL_FLOWS = [
    guide.FLOW,
]

# The WeChat custom menu: (top-level button, [click keys of its flows]).
MENU_LAYOUT = [
    ("服务指南", ["GUIDE"]),
]

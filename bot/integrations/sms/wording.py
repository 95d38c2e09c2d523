"""What users read about SMS codes (Simplified Chinese), apart from the code logic."""

from __future__ import annotations

import math

from bot.masking import mask_phone

HOUR = 3600
PASSED = "验证通过"
VOID = "验证码错误次数过多，已失效，请重新获取"
EXPIRED = "验证码已失效，请重新获取"


def sent(phone: str, ttl: int) -> str:
    return f"验证码已发送至 {mask_phone(phone)}，{math.ceil(ttl / 60)} 分钟内有效"


def wrong(remaining: int) -> str:
    return f"验证码错误，还可尝试 {remaining} 次"


def refusal(limit: str, wait: int, phones_per_day: int) -> str:
    """The refusal for the limit (a name from the request script) that is full longest."""
    after = f"{math.ceil(wait / 60)} 分钟" if wait <= HOUR else f"{math.ceil(wait / HOUR)} 小时"
    if limit in ("phone-minute", "requester-minute"):
        return f"发送过于频繁，请 {after}后再试"
    if limit == "requester-codes":
        return f"您24小时内获取验证码次数已达上限，请 {after}后再试"
    if limit == "requester-phones":
        return f"您24小时内已向{phones_per_day}个不同手机号发送验证码，已达上限，请 {after}后再试"
    return f"该手机号获取验证码次数已达上限，请 {after}后再试"

"""SMS, in three parts: ``adapters`` (the sender interface, the sandbox outbox and Aliyun
SendSms), ``codes`` (one-time verification codes and their send limits, in Redis) and
``wording`` (what users read about them). The names other modules use are importable from here.
"""

from bot.integrations.sms.adapters import (
    AliyunSmsSender,
    OutgoingSms,
    SandboxSmsSender,
    SmsError,
    SmsSender,
    build_sender,
    render,
    rpc_signature,
    rpc_string_to_sign,
)
from bot.integrations.sms.codes import DAY, CheckOutcome, CodeCheck, CodeRequest, SmsCodes

__all__ = [
    "DAY",
    "AliyunSmsSender",
    "CheckOutcome",
    "CodeCheck",
    "CodeRequest",
    "OutgoingSms",
    "SandboxSmsSender",
    "SmsCodes",
    "SmsError",
    "SmsSender",
    "build_sender",
    "render",
    "rpc_signature",
    "rpc_string_to_sign",
]

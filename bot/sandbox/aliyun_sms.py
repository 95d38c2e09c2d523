"""A fake of Aliyun's SendSms endpoint (dysmsapi.aliyuncs.com, RPC style, GET).

It does what matters to our adapter the way Aliyun does: recomputes the signature with the
configured AccessKey secret, refuses stale timestamps and reused nonces, checks the required
fields, sign name and template, applies Aliyun's default per-number flow control (1 a minute,
5 an hour, 10 a day) and answers with Aliyun's JSON and error codes. Accepted messages go to
the sandbox outbox.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

from aiohttp import web

from bot.config import SmsConfig
from bot.integrations.sms import SmsError, render, rpc_signature, rpc_string_to_sign
from models.outbox import OutboxMessage

PATH = "/sandbox/aliyun-sms/"
TIMESTAMP_SKEW = 15 * 60  # Aliyun refuses requests whose Timestamp is further off
REQUIRED = ("AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
            "SignatureVersion", "Timestamp", "Version", "Signature")
SEND_REQUIRED = ("PhoneNumbers", "SignName", "TemplateCode")
FLOW_CONTROL = ((60, 1, "触发分钟级流控Permits:1"), (3600, 5, "触发小时级流控Permits:5"),
                (86400, 10, "触发天级流控Permits:10"))
MOBILE = re.compile(r"1[3-9][0-9]{9}")


class FakeAliyunSms:
    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 templates: Mapping[str, str]) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = dict(templates)
        self._nonces: dict[str, float] = {}
        self._sent: defaultdict[str, list[float]] = defaultdict(list)

    @classmethod
    def from_config(cls, sms: SmsConfig) -> FakeAliyunSms:
        return cls(sms.access_key_id, sms.access_key_secret, sms.sign_name,
                   {sms.code_template: sms.template_text})

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        refusal = self._refuse_request(query) or self._refuse_send(query)
        if refusal:
            return refusal
        phone, template = query["PhoneNumbers"], query["TemplateCode"]
        params = json.loads(query.get("TemplateParam") or "{}")
        try:
            text = render(self.templates, self.sign_name, template, params)
        except SmsError as exc:
            return _answer(exc.code, str(exc))
        self._sent[phone].append(time.time())
        biz_id = f"{secrets.randbelow(10**18):018d}^0"
        await OutboxMessage.create(kind="sms", recipient=phone, body={
            "template": template, "params": params, "text": text,
            "out_id": query.get("OutId", ""), "biz_id": biz_id})
        return web.json_response({"Message": "OK", "RequestId": _request_id(), "Code": "OK",
                                  "BizId": biz_id})

    def _refuse_request(self, query: dict[str, str]) -> web.Response | None:
        """The RPC gateway's checks: common parameters, key, time, signature, nonce."""
        for name in REQUIRED:
            if not query.get(name):
                return _answer(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        if query["AccessKeyId"] != self.access_key_id:
            return _answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.",
                           404)
        if query["SignatureMethod"] != "HMAC-SHA1" or query["SignatureVersion"] != "1.0":
            return _answer("InvalidParameter", "SignatureMethod or SignatureVersion", 400)
        try:
            stamp = datetime.strptime(query["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return _answer("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400)
        now = time.time()
        if abs(stamp.replace(tzinfo=UTC).timestamp() - now) > TIMESTAMP_SKEW:
            return _answer("InvalidTimeStamp.Expired",
                           "Specified time stamp or date value is expired.", 400)
        signature = query.pop("Signature")
        if signature != rpc_signature(self.access_key_secret, "GET", query):
            return _answer("SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation. "
                           f"server string to sign is:{rpc_string_to_sign('GET', query)}", 400)
        self._nonces = {n: t for n, t in self._nonces.items() if t > now - TIMESTAMP_SKEW}
        if query["SignatureNonce"] in self._nonces:
            return _answer("SignatureNonceUsed", "Specified signature nonce was used already.",
                           400)
        self._nonces[query["SignatureNonce"]] = now
        if query["Action"] != "SendSms":
            return _answer("InvalidAction.NotFound", "Specified api is not found.", 404)
        if query["Version"] != "2017-05-25" or query["Format"] != "JSON":
            return _answer("InvalidParameter", "Version must be 2017-05-25; Format JSON", 400)
        return None

    def _refuse_send(self, query: dict[str, str]) -> web.Response | None:
        """SendSms's own checks: fields, number, sign, template, parameters, flow control."""
        for name in SEND_REQUIRED:
            if not query.get(name):
                return _answer(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        phone = query["PhoneNumbers"]
        if not MOBILE.fullmatch(phone):
            return _answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if query["SignName"] != self.sign_name:
            return _answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        if query["TemplateCode"] not in self.templates:
            return _answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            params = None
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return _answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        now = time.time()
        self._sent[phone] = sent = [t for t in self._sent[phone] if t > now - FLOW_CONTROL[-1][0]]
        for window, limit, message in FLOW_CONTROL:
            if sum(1 for t in sent if t > now - window) >= limit:
                return _answer("isv.BUSINESS_LIMIT_CONTROL", message)
        return None


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _answer(code: str, message: str, status: int = 200) -> web.Response:
    """Aliyun's error body; business refusals (isv.*) come with HTTP 200."""
    return web.json_response({"RequestId": _request_id(), "HostId": "dysmsapi.aliyuncs.com",
                              "Code": code, "Message": message}, status=status)

"""The benchmark's baseline: the least a WeChat safe-mode endpoint can do on aiohttp + wechatpy.

Signature check, AES decrypt, XML parse, then an encrypted text reply with the same content.
No Redis, no session, no engine: whatever the service costs beyond this is its own overhead.

    python -m bench.echo_server --port 8091 --token T --aes-key KEY --appid APPID
"""

from __future__ import annotations

import argparse
import time
import uuid

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature


def create_echo_app(token: str, aes_key: str, appid: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, appid)

    async def echo(request: web.Request) -> web.Response:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        try:
            check_signature(token, query.get("signature", ""), timestamp, nonce)
            plain = crypto.decrypt_message(await request.read(), query.get("msg_signature", ""),
                                           timestamp, nonce)
        except InvalidSignatureException:
            return web.Response(status=403, text="forbidden")
        message = parse_message(plain)
        xml = create_reply(message.content, message=message, render=True)
        body = crypto.encrypt_message(xml, uuid.uuid4().hex[:16], str(int(time.time())))
        return web.Response(body=body.encode(), content_type="application/xml")

    app = web.Application()
    app.router.add_post("/wechat", echo)
    app.router.add_get("/readyz", _ready)
    return app


async def _ready(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key", required=True)
    parser.add_argument("--appid", required=True)
    args = parser.parse_args()
    web.run_app(create_echo_app(args.token, args.aes_key, args.appid), host=args.host,
                port=args.port, print=None)


if __name__ == "__main__":
    main()

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "sandbox_outbox" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "recipient" VARCHAR(128) NOT NULL,
    "body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_sandbox_out_kind_e1034a" ON "sandbox_outbox" ("kind");
CREATE INDEX IF NOT EXISTS "idx_sandbox_out_recipie_8147d5" ON "sandbox_outbox" ("recipient");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztlm1v2jAQx79KlFedtFU0QGF7B5StTAOmNtqmTpPlxCZYJHYaOy2o47vPdhLyQGAwae"
    "3W7V3yvzv7/LvEdw9mwBD2+ek0Fg5bjjHn0MPmG+PBpDBQD/UOLw0ThmFuVoKAjq8jOKRI"
    "+gKmQ7Svw0UEXSGtM+hzLCWEuRuRUBBGpUpj31cic6UjoV4uxZTcxhgI5mExx5E0fP0mZU"
    "IRXmKevYYLMCPYR6XMCVJ7ax2IVai1PvFGVLzVvmpDB7jMjwOa+4crMWd0E0CoUKqHKY6g"
    "wGoHEcXqBCrB9MjZoZJkc5cky0IMwjMY+6JwYgfkmgnAZGqD66ENgHkEI5dRxVemyjUAXc"
    "FXry2r2exYjeZ5t93qdNrdRlf66ny3TZ11kkxOK1lKMxu9G01slRCTRUxqrIS1joECJlG6"
    "GDn9hTz8Nv/BHEb19DP/Cn95sCr/jPa+AmTCE1UggEvgY+qJuXxtWnvgfupdDS57VydN60"
    "WZ8CS1WNqkWOdsI+ySkODk0zwUcCno+VE+s7oHYJZeOzlrWxm0w9Bqm/H76+mknnHmX8GL"
    "iCuM74ZP+NZl8muY81v0ETjvwapIqJUDzm/9Is2Tce9LFfTgw7Sv4TAuvEivohfoV6C7EV"
    "ZwAKz5vC+kRZAA1+MvR1aLkIaeZg9/YSnkTwzRlPqr9FfbUxp7NB5e273xx1J9Lnr2UFks"
    "ra4q6sl5pWabRYzPI/vSUK/GzXQyrJZx42ffmConGAsGKLsHEBVuhUzNqK1V654tCu1DCQ"
    "50F/cwQmDLwiy2y3fbFFhBVYFUzi4ohavSTGebHo6IO6+belLL3nEH5j5/zJjzr8w41lmr"
    "0+o2z1ub0Waj7Jtofj693OGIq5SO6K+FkN/VXR/3rim1V6vdPqC9Sq+d7VXbyje9+qmOIJ"
    "y6P0O6Z43GIcNLo7F7eFG2Sh9lVNTOiLvnl0LI/xHmyBHmSZvZ+geOZgLu"
)

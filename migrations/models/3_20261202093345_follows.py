from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "follow_request" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "conversation" VARCHAR(96) NOT NULL,
    "owner_id_number" VARCHAR(18) NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "asked_by" VARCHAR(8) NOT NULL,
    "reason" VARCHAR(64) NOT NULL,
    "code_hash" VARCHAR(64) NOT NULL,
    "code_tries" SMALLINT NOT NULL,
    "token_hash" VARCHAR(64) UNIQUE,
    "pending_key" VARCHAR(32) UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "decided_at" TIMESTAMPTZ,
    "requester_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "vehicle_id" INT NOT NULL REFERENCES "vehicle" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_follow_requ_request_372435" ON "follow_request" ("requester_id", "state");
COMMENT ON COLUMN "follow_request"."state" IS 'PENDING: pending\nAPPROVED: approved\nREFUSED: refused\nEXPIRED: expired\nFAILED: failed\nCANCELLED: cancelled';
COMMENT ON COLUMN "follow_request"."asked_by" IS 'CHAT: chat\nSMS: sms';
COMMENT ON TABLE "follow_request" IS 'The durable wait for an owner''s answer (24 h).';
        CREATE TABLE IF NOT EXISTS "follow_consent_evidence" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(8) NOT NULL,
    "approved" BOOL NOT NULL,
    "code_hash" VARCHAR(64) NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "client_address" VARCHAR(64) NOT NULL,
    "user_agent" VARCHAR(256) NOT NULL,
    "request_id" INT NOT NULL REFERENCES "follow_request" ("id") ON DELETE RESTRICT
);
COMMENT ON COLUMN "follow_consent_evidence"."channel" IS 'CHAT: chat\nPAGE: page\nCODE: code';
COMMENT ON TABLE "follow_consent_evidence" IS 'How and when an owner answered a request, kept for good.';
        CREATE TABLE IF NOT EXISTS "follow" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "consent" VARCHAR(8) NOT NULL,
    "valid_until" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL,
    "ended_at" TIMESTAMPTZ,
    "ended_by" VARCHAR(8),
    "vehicle_slot" SMALLINT,
    "follower_slot" SMALLINT,
    "active_key" VARCHAR(32) UNIQUE,
    "follower_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "vehicle_id" INT NOT NULL REFERENCES "vehicle" ("id") ON DELETE RESTRICT,
    "request_id" INT NOT NULL UNIQUE REFERENCES "follow_request" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_follow_vehicle_1aafd3" UNIQUE ("vehicle_id", "vehicle_slot"),
    CONSTRAINT "uid_follow_followe_d1c0fb" UNIQUE ("follower_id", "follower_slot")
);
CREATE INDEX IF NOT EXISTS "idx_follow_ended_a_460913" ON "follow" ("ended_at", "valid_until");
COMMENT ON COLUMN "follow"."consent" IS 'CHAT: chat\nPAGE: page\nCODE: code';
COMMENT ON COLUMN "follow"."ended_by" IS 'UNFOLLOW: unfollow\nREVOKE: revoke\nLAPSE: lapse';
COMMENT ON TABLE "follow" IS 'A consent given: the follower sees the vehicle until it ends.';
        CREATE TABLE IF NOT EXISTS "follow_attempt" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "year" SMALLINT NOT NULL,
    "n" SMALLINT NOT NULL,
    "user_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "request_id" INT NOT NULL UNIQUE REFERENCES "follow_request" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_follow_atte_user_id_ba9a0d" UNIQUE ("user_id", "year", "n")
);
COMMENT ON TABLE "follow_attempt" IS 'A follow request sent: ``n`` of the user''s attempts in a calendar year (Beijing).';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "follow";
        DROP TABLE IF EXISTS "follow_request";
        DROP TABLE IF EXISTS "follow_consent_evidence";
        DROP TABLE IF EXISTS "follow_attempt";"""


MODELS_STATE = (
    "eJztXXlv4kgW/yol/tmMlG0FcjazWsmAk2abAALSmZlm5XbsAjwxZcZH0tFsf/d95QPfju"
    "0YYtyWWo1drld2fq+Od9WrvxtrRcSy9qGrEA0TnX2SREwE3GijvxuEX9OLuCrHqMFvNm4F"
    "WqDzD7JJs1BkWXnmBIuGw16iB01XeUGHagte1jAUiVgTVGmjSwqhxJ+UZ8QTET2vMIELpD"
    "wTrMKF9oxVLCIeqfgvA2v6MXrEGx0tFBUtFUX8QFsXFQGal8jyrQ0ZRIJnnK4ssb7CKjT3"
    "9b9QLBERf8eac7t55BYSlkUfYJJIGzDLOf1lY5b1iX5tVqTf+ADAyMaauJU3L/pKIdvaEt"
    "Fp6RLD9/I6ps3rqkGhIoYs2yA76Flf6laxPtFDI+IFb8gUcEptfYBb1uC44WjGTdkZxzVC"
    "zHAoPLDaRZS3wEj4VM3865f0E/7Zap5dnl2dXpxdQRXzM7cllz+sV7vAWIQmPMNZ44f5nN"
    "d5q4aJsQuqsOIJwXIY2e6KV1lirE14+/BNvN3RfDB7yANYwx8RxNpBNglsp8BF2+3N+eFu"
    "dD8xszaCr9XnZMzcsG204Zd4TrqjHlwLMNKCvTyGHWv+OydjstRXcHuVAP0XZgIvnRxd/U"
    "JbVmBoWkN4aD9o0SeUNy4vYNyryhOO6OYdRZExT6K7upcswIQHoCsPF1J3+gRYO6PRgLa8"
    "1rS/ZLOgPwsAfHfbYSdHTRN3qCTp2DsUPF0fuM6teG0V3fmjwfYR7a/LNxq7ml98HfriLE"
    "WPvjiL7dL0UaBP62F0ewCOLq1xTHfWI6AVbZIPzkW1evWsf8tOZ8zt2Ne1e8yMpU9aZulL"
    "oPToIsCGbSPovj/7hOgt+mM0ZE04FU1fquYb3XqzPxr0m3hDVzgCYgUvejFxip0i/9iRJS"
    "qAAAU0qmUaQCHKehS9OooMDascLFgkYjTFQ+2nqhzMrfOLFDhDrVigzWd+pG3RlcskbPqJ"
    "Xhc6D2CyKkLupJL84jFS7LQRC2N8rahYWpLP+CUkeAZwtfWna1MlmrjtHRjQP5zO5JQ2tg"
    "qGyj9v1aBAHwMc4K/Hlmgzgel80u8C5BTxB154fOZVkfNBT58oLSVQsq0bfrRurYMlPIHJ"
    "RLT/EvrdPhY0IpRb+8nx6zptOhWWQbbqi5bSEyaA1AojqwHQQDWMNbPkCa8kGOzIILokI0"
    "lHmIhaWI99c2sRyuzXhl2dPrcvOU1W9AZA+LXhtG52fPvafhxQg7824DVY5Cxx6ImXJZEz"
    "v8CqWWvIe9OQrT6SW0N2yWsN+a0asncYZFQrAqQF6Bd2Jy/ZQlIJ9QLGkqpvJ78sbPZT1l"
    "pkqdnsXeGyMNlLVw/k8nP44SXv6umlz7V87oe3jbvh9WgwGN23QUq05Lo5mbBfRp9h7VTx"
    "k/IIK+mAGU/hVuY3WinWUq9wGmLPdM3LcqzsGKTNpfKWbNjZcuRp6/JiK0LSmyTpcXrLDA"
    "Zhy7Jfss+IbYi4BtdvURZ00Na4RxwzqcRYlX1UhUwl76v1+KaG01aKueG0FTs50EcxXTiT"
    "Thmgqi1hEW4nZ+7MBKyfqMY1AtfSWG4P3hqSYLf12a/eZri903CJ7B+F22sDU2GMwTZiYi"
    "gA2i9uSxVF1z8fFmANT+GaGBE8U+C/fTkm3nUe2Z1bogBXA6PreL3RG7EeB6fCcYpgOt5T"
    "N4UDwqJyQtwQte220bdv5Ns3pCxMfwF1u/5DQ3a7GpII4pHAg7Am8ip6wfDfUQdLfwL8v0"
    "Q5JXbwhkhHhWFPwLQ+/SUhH0TtaNino8HhQxZl0aGpkkRYhJJIsgJJahTDKJoBJJnGuoei"
    "SmDWSkrpUE1QUpyFrVZQkiQ3z1Ct5eefS352QI2Vnz2ovyo/e/j9uvw8A+lVNFTaBHrmJW"
    "tziLOFhIq05iYSdNQ6Q6sI4Tg7+ev7Tb46PLBGO3RLgL+Osdl3jM0TVjXe/K4QvEnR+H66"
    "MkfY5DTtf0wT5PoxPsb1YyjE1RwsMOFwxFg/RK2U8XhHkFYurLiZxs/ajHe0NkOeVmtKiY"
    "T5dQ/4lniPQG8wESlg2fBujNlhrz+8aSObfk6Y8Xgy+sL22sjZpETd4td3U1qk4gXIIFDC"
    "/jbuT2gJ/r6RVFpyzfQHtGDBSzK97zLDLjswiwSKkixb250y8zbNYGrGD6ZmaDDx2uObAh"
    "y89GWevXzxgdPbaRtpay0PCwqOYlAxr2VbM1yKyk1dxW88qffI7Qtk+AQcsZEq2Wrlp9yf"
    "xeVkt3JmEbYrXXnEJHPX9VNVLUyk+K5rr/RZo3ECZFXDufhwHEsy0vLEyvoo64DoUofLCi"
    "Cc5It791PWbC41m0UsSPki3/2Udex7mbm8NSvm8vbUfrQ6iPLdPWk+y3jtTkvhyKkD/koZ"
    "8OeRpD050/yod2zK688TLMe5FOKztlUE+B+ZMgUEI4PjUXW8v69j6yYNOEjZJYyoPx/SNt"
    "qwGJw8oY4VgSujS7unSk9YHUhCXIZFf4XjJJe2aFblZE/d11za8X9vneqwXE7m7O7Oor2c"
    "JTJRFe/lXEiwPGfHOEBWZh9YXqjTWAOb8dbAZsgauFJkEaYp8zYD1AGyCkJdvOHVxmwDSO"
    "XBektXOTdYs5mmVzfje3UzCLW96nKCzMelFHzdnx5qpMy9vME024hpzgnTgt8W/J7C7+mc"
    "dKC8A+UdKO9AeRfuu3DfhfsuvYd6XajXPYPfM/g9h99z+L2A34s56bVRb07YNmLn5LqNru"
    "fkto1u52TYRsM5GbeRaUTLyvI03qN451HIdyRpmkGdQLwBHFIlPZMHKZK4zLwujcvOSoS0"
    "UJV1tPE5xnbmo0oyPB8g5AkQU0tyJIC6kh0+i+anBo+Gsxm5Z3eXeo/rKVHUNS9nXFUbw9"
    "HklhkAaCZ1VJBbj50x/SEtErEOcNKy6d2URtHRQs3QNmb6GyeTTM9JJQMloy/spHfHcuxv"
    "DMzsCiitIqia+Du/dp8BVZ+9d58CsYSf80z8xYfNbRTzTaFukBzu4lLVoS5er/GLmYuHZj"
    "7LMicFyH66aSnk98iy36W4LRkjQ39Qvt9iTeOXkfYrf4XjJPuVxhMR6nKKSVIu+1VHWv4s"
    "JqyPrdbp6WXr5PTi6vzs8vL86mQ7xMOPkgZ8p39Dh7tvWn3d0PUIf3wWWdqpv6s1tUqBWC"
    "oWpI2UMRG7j6h6KDdbqYyJrQRrYitkTnxQxAiF8D/T0TAaY6d+cBmTBB39D8nSIScHj4KV"
    "IkFb3kbCOGge3TK/BYHuDkYdExxPiAttoBOUJOr4s9guD3+gOCLyS2Pr1TuESCV7VggFKp"
    "VE+BlbgcB9Ha+jRB/v40TBxwkolpyahYo9X0MbDZ0lU8ULrJq+wnD+9iCNAh+5HSGesNxs"
    "e01rMWpfYlS9KXWPm1LLJrNWyonlzlKZhFYPUQVhLt6yrkt6VDRfwm4jh6CGNwW8i8j4so"
    "TIArt+BcEtfoqgq2AWdcupv391q/GvhUEEih96MCRZl4j2gb723xkt9LUSdoCjoFpKmC8r"
    "h1c7yMJ0H2G9I6jMO4LqXZyVZXNJ7CkdybSDsE+YRKb38j0/TrKoPFg1Obyt+npyXEOUdJ"
    "qjlmYJQXYDGlrzIjbPize92a+eLp+rlTmZkxHBSFWe0QariG7LAOn6BT0oBoHaBjEvENRX"
    "8UbmhW0T/EKH+jSrrv0qJGnQJsEf0Bi0eIVQ5z2VdpCm8y8aArHDScFL3/YrzbxLP3T7Ri"
    "CnoIvoAa51DW00bIgKeVkrhga1oAH5JWVqsjo+fJ/x4Z6z7FObelySCmoZxYd94O8w2GBE"
    "Re7bjIc5QFY9D9oOzl0X4s2WKbJSCYdgvGx0RnfDXtua4+fkbmjf25M9jZsaD5iuFThlTf"
    "rB1SYNcwrOWJVd+Kus0Fdhda5OnV0ned69urTnJM/F6SldS3Dq20JzI0JVCVZJ1FZsQYyT"
    "vLVTnOZxj7tUeKc2FMnUDhhZ2vAvlngPJZbWoCsg5dOiX+naYqsJFpjWEeGgCESd5FFw69"
    "GeaVcE9YpJ9VEetSpRqxLvpkpUyvFmTlM5jJZeulp6raXXg2JuLb2WV3rtMtMu02PfS3g1"
    "UY+QWB1uxIup8IRzWJ9GPIUZRqb2bE0hx3CzlGiCKUxtyAKm9uV+D1mpE9DzShJW+AmubE"
    "GCSo4vSIAvRHTXZpR4WnDrtT27XEJorhMednC2Q6WzntAxlDkRh4+ogiJo8eFJmfNvvEPi"
    "jf314sJTb8DMLkFjbznIItBEmWFvXDNdljYlYPcsizm57w97o/s2eoa3Kbn2SRd+toWzJO"
    "dQvkLEtQZ2UBoYeRP3I8jr0LADjhkK5tmMSJ2QJX1p6hSbZRvxcZqjP1Dcd7B3IVClz7J5"
    "yIjZOYwLQewNB3ceAmK+8Lg3AhYMyqsiXrZjLvKMo0yJl8NewarAtUuTlZMgPMJq5ckdHm"
    "+48qQqL3pr7QZYji02U66bd7YJonZivqf9yM+YPDphgLVlVgkHzOQGdMKTJtUImcEALltz"
    "Mpr0+kNm8jt3O5qNJt3fuwNa53JOBv2bTzN/6dWczCb03MoJaOg0F+OI6X6ink+oTRvnhu"
    "w9xw7Zyc3vbXTuvMdf2sqjdaYxtsTbWsKmFu8IjGR8jMUlQFdmduc0vBSs3z9JmfaV29Wr"
    "Z5RNmqa25qzLeHPWZfrN5K/PWYewsdxKBMd1mQk1XfGyzAm86kwzZqnMq0tslXonqbWiK6"
    "qZ941OVnfdzybfhUfP1EXZJFsj+P2DPKzzpt/CTn8Lez1DWbWPmc3C2DE7mY6GbdsrRxeg"
    "G2bYnzKzPi1V1CVPJDezRFkYlNX/4acq80grTQzOYRzaHlpEDvbMdgu0zG6nAFkFu3bxzi"
    "fLUq2asxpnbtPI5kuNoq4g8MXMKbXNubagVtXERR3QAm9/bISdy/P8ONnYFahZmhy6tU3r"
    "jTatNbBBya1MuNRlXl8iwxvyqAsFmzs2hrpRtGxRPC5JmREvTZhUwnmtSRKUh6h6e6uLz1"
    "WoGQ9/YkHPp41FElewc+8i1LIcWQxLZDot3s6wURV6pm307o+EidpPVrnTznZg0DF0QYkz"
    "m6Wwa7rkezVqmpEK2a2aw15/eEPNmib9nIyZ6ZTmZdjwmkbPs7mm1ucefack0/vgaTklEF"
    "/MQ3oybel0KSo3HnaS8r9OfBiPfnUjXTWs63Iurvsp6/jWA45v3alhSFLkeKvQ9uFxoknI"
    "V22X9qDEgCiKkiAYqh3VDaRftyeexlSp7Ut1zFQdM1XHTFUkZso7t2UUFwKkFZQSD11gCA"
    "ypbJaeKvt+d6NugZiTBWCnfgXxPU+B7nkstudhU4H7TRkADpBVEOfWeRpjPNSKX3rPQ+b4"
    "hRQVo9PDgrTm5WikHZLgGmDRfLBpDxDuBHR7bLcP0tNR8+TYkmxgtpesfCoO8Gcnh3tO8+"
    "6VhiKOaq58ZPJwNOTg37Q/A/mewGfCPw26GegFTum25IbK8PSMdOvb5TyC/A6OJlcVAYuG"
    "ml+D8zZQamZN+7djqodp0nojl5YhALOemxlb4j2a4A1idgHq2cjqKbkbjiejLms5RzztzM"
    "m2nIM6TJ/6TpyHHFTkJVrHKjevPzHD3gBqs4Mpe/+JnQCbVzwRqb0Uwxc/r7DVQTMv4Sdp"
    "VvCT+AU8tMaAGrBSVHszZ1pZyUdU5kFWGodj2E6YFuswZfX8WYVHK1BZUqMxydnxjiDNBX"
    "jQnVGiwIXiVwkKmgiTW5TKRe1C8VC7VEkmoUq5j6iFJ0rsMVeT7Ja1IG3tiiu1ZQ3kgzxM"
    "dslq/paNvyVxtTJYlYRVI8LPaj85TsyO6tapI+73ti7v2CNKj0LPaAf1kFRQsm+dp7E2Q6"
    "0EG2jI4kwHVQaE7eoVRLd5kkY/hVrxouVJSEOFN+p2biY/wvHnI3tI9n9E8vsslIUdhvyu"
    "i9mP/wPfHqtS"
)

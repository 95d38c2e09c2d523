from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "driver_licence" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "number" VARCHAR(18) NOT NULL UNIQUE,
    "file_number" VARCHAR(12) NOT NULL,
    "holder_name" VARCHAR(32) NOT NULL,
    "holder_phone" VARCHAR(11) NOT NULL,
    "licence_class" VARCHAR(4) NOT NULL,
    "issuing_authority" VARCHAR(64) NOT NULL,
    "valid_from" DATE NOT NULL,
    "valid_to" DATE NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "points" SMALLINT NOT NULL,
    "cycle_start" DATE NOT NULL
);
COMMENT ON COLUMN "driver_licence"."licence_class" IS 'A1: A1\nA2: A2\nA3: A3\nB1: B1\nB2: B2\nC1: C1\nC2: C2\nC3: C3\nC4: C4\nC5: C5\nC6: C6\nD: D\nE: E\nF: F\nM: M\nN: N\nP: P';
COMMENT ON COLUMN "driver_licence"."status" IS 'NORMAL: normal\nEXPIRED: expired\nDETAINED: detained\nSUSPENDED: suspended\nREVOKED: revoked\nOVERDUE_EXAM: overdue_exam\nOVERDUE_REVIEW: overdue_review';
CREATE TABLE IF NOT EXISTS "sandbox_outbox" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "recipient" VARCHAR(128) NOT NULL,
    "body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_sandbox_out_kind_e1034a" ON "sandbox_outbox" ("kind");
CREATE INDEX IF NOT EXISTS "idx_sandbox_out_recipie_8147d5" ON "sandbox_outbox" ("recipient");
CREATE TABLE IF NOT EXISTS "app_user" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "id_number" VARCHAR(18) NOT NULL UNIQUE,
    "real_name" VARCHAR(32) NOT NULL,
    "phone" VARCHAR(11) NOT NULL,
    "verified_by" VARCHAR(8) NOT NULL,
    "registered_at" TIMESTAMPTZ NOT NULL,
    "unregistered_at" TIMESTAMPTZ
);
COMMENT ON COLUMN "app_user"."verified_by" IS 'FACE: face\nSMS: sms\nWINDOW: window';
COMMENT ON TABLE "app_user" IS 'A real person, registered once by ID number whichever channel they came from.';
CREATE TABLE IF NOT EXISTS "channel_identity" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(64) NOT NULL,
    "bound_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_channel_ide_channel_437670" UNIQUE ("channel", "external_id")
);
COMMENT ON TABLE "channel_identity" IS 'A WeChat openid or Alipay user id bound to a user; unbinding deletes the row.';
CREATE TABLE IF NOT EXISTS "vehicle" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "plate_type" VARCHAR(2) NOT NULL,
    "plate_number" VARCHAR(8) NOT NULL,
    "vin" VARCHAR(17) NOT NULL UNIQUE,
    "kind" VARCHAR(16) NOT NULL,
    "owner_kind" VARCHAR(16) NOT NULL,
    "owner_name" VARCHAR(64) NOT NULL,
    "owner_id_number" VARCHAR(18) NOT NULL,
    "owner_phone" VARCHAR(11) NOT NULL,
    "registration_place" VARCHAR(64) NOT NULL,
    CONSTRAINT "uid_vehicle_plate_t_a345b7" UNIQUE ("plate_type", "plate_number")
);
CREATE INDEX IF NOT EXISTS "idx_vehicle_owner_i_f395ca" ON "vehicle" ("owner_id_number");
COMMENT ON COLUMN "vehicle"."plate_type" IS 'LARGE: 01\nSMALL: 02\nORDINARY_MOTORCYCLE: 07\nLIGHT_MOTORCYCLE: 08\nTRAILER: 15\nCOACH: 16\nLARGE_NEW_ENERGY: 51\nSMALL_NEW_ENERGY: 52';
COMMENT ON COLUMN "vehicle"."kind" IS 'SMALL_CAR: small_car\nLARGE_CAR: large_car\nMOTORCYCLE: motorcycle\nTRUCK: truck\nTRAILER: trailer';
COMMENT ON COLUMN "vehicle"."owner_kind" IS 'PERSON: person\nORGANISATION: organisation';
CREATE TABLE IF NOT EXISTS "verification" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "method" VARCHAR(8) NOT NULL,
    "purpose" VARCHAR(32) NOT NULL,
    "requester" VARCHAR(96) NOT NULL,
    "subject_id_number" VARCHAR(18) NOT NULL,
    "reference" VARCHAR(64) NOT NULL UNIQUE,
    "outcome" VARCHAR(8) NOT NULL,
    "detail" VARCHAR(128) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "settled_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_verificatio_request_566a42" ON "verification" ("requester");
COMMENT ON COLUMN "verification"."method" IS 'FACE: face\nSMS: sms';
COMMENT ON COLUMN "verification"."outcome" IS 'PENDING: pending\nPASSED: passed\nFAILED: failed\nEXPIRED: expired';
CREATE TABLE IF NOT EXISTS "violation" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "plate_type" VARCHAR(2) NOT NULL,
    "plate_number" VARCHAR(8) NOT NULL,
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "place" VARCHAR(128) NOT NULL,
    "code" VARCHAR(5) NOT NULL,
    "description" VARCHAR(256) NOT NULL,
    "fine" DECIMAL(10,2) NOT NULL,
    "points" SMALLINT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "procedure" VARCHAR(16) NOT NULL,
    "state" VARCHAR(20) NOT NULL,
    "authority" VARCHAR(64) NOT NULL,
    "licence_number" VARCHAR(18) NOT NULL,
    "decision_number" VARCHAR(16) UNIQUE,
    "decided_on" DATE,
    "processed_at" TIMESTAMPTZ,
    "paid_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_violation_plate_t_ac1dca" ON "violation" ("plate_type", "plate_number", "occurred_at");
CREATE INDEX IF NOT EXISTS "idx_violation_licence_c16280" ON "violation" ("licence_number", "occurred_at");
COMMENT ON COLUMN "violation"."plate_type" IS 'LARGE: 01\nSMALL: 02\nORDINARY_MOTORCYCLE: 07\nLIGHT_MOTORCYCLE: 08\nTRAILER: 15\nCOACH: 16\nLARGE_NEW_ENERGY: 51\nSMALL_NEW_ENERGY: 52';
COMMENT ON COLUMN "violation"."kind" IS 'NON_ON_SITE: non_on_site\nON_SITE: on_site\nGENERAL: general';
COMMENT ON COLUMN "violation"."procedure" IS 'SIMPLE: simple\nGENERAL: general';
COMMENT ON COLUMN "violation"."state" IS 'UNPROCESSED: unprocessed\nPROCESSED_UNPAID: processed_unpaid\nPAID: paid\nHANDLED_ELSEWHERE: handled_elsewhere';
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
    "eJztXW1zosoS/isUn/ZW5W4pRpP1fiJKEu4qptQku2c9RY0wMdzg4OEliXVO/vvtARHkxQ"
    "hRg6xVqUJ6uofh6Zme7p5h8jc7NVSsW1/bpvaMzY6mYKJgtsn8zRI0pT+SGU4YFs1mQTEl"
    "2GisuxKqyyrrId6xZZtIsaH0AekWBpKKLcXUZrZmEKASR9cp0VCAUSOTgOQQ7S8Hy7Yxwf"
    "YjNqHg159A1oiKX7Hl386e5AcN6+pKyzWVPtuly/Z85tJEYl+6jPRpY1kxdGdKAubZ3H40"
    "yJJbIzalTjDBJrIxrd42Hdp82rrF+/pv5LU0YPGaGJJR8QNydDv0umM5oLGyLPWG8kAYyj"
    "KbASDFIBRcaKrlvv2ENuHfXPX07PS81jg9Bxa3mUvK2Zv36AAYT9CFRxqyb245spHH4WIc"
    "gEqc6RjUEAO29YjMZGQDiQi60Owouj6WxYV3il5lHZOJ/Qi31fM1WN7x/dY13/9SPf8Xfa"
    "ABA8AbH9KihHOLKNwBvA+ajuXsGEfEtgO0TwiQDgbv/qHmNoGaS4eai0L9aOgqmCn3NgPU"
    "EbESQl3bBOpaOtS1NKhngFQerJdy+wObZffTq6ub9Opqeq+uRqFezLqyoiPLSsZaAEPh4i"
    "1Cy9Biil7BPVZJkXs5y1ebDF8dEZ6DKwfXGlxrI3IB9AugXwD9AugtuG/BfQvuW/Qe+FrA"
    "1zqF6ylc63Ctw7UB18aItJtMe0SEJiOMyGWTuRyRbpPpjojUZKQRuWkyN2wOlZ9uoPHTVI"
    "WfRvWtWZYDD5eRAxoyNXueZXwlChdZ1zmHWWMT0BvpqDdisD8jXVPlB9OYxvFuA0zJeK9K"
    "RYAGlwvb2hR/pT8OEPI1ELf5oZAIoG1kh8+T+a3BA7NtO7mteyC9x/mUGOYU6RlnVVbq9b"
    "t8B0BzpcEY/7gR+wIYZvw600ysgpEWhrwoUZKKbYCT0ga3gxtBalOi5VgzDO0Cal+4632n"
    "NBM/G0+U0rsT+u1bQRZ+8GDZDQhaVQg18SuaBmUgJQr3QSkIa/glj+GvNjaZ6xvpc30jao"
    "RmhvukWDcYAFZ6aqQbSL0f7W5L/ZVdmXkv2q1xZ41loEtv1sW4A+hRHT/QDcBU5oC4DGPD"
    "tLPYpIjYb2eWaPbl4SmUKqCEMVKeXpAJU120xOCMNN540ZSbRimIoIkLA20vbd0iPdVz7L"
    "Hx2sWWhSaJ+atVhpN1+SsLERV4ZcMVKVb+6kKb/C4prG8cV6udcZVa47x+enZWP68sh3i8"
    "aN2AvxCv6HBfMavvJ7qe4OWz+NI+/67m1M/Lcm0/H2BiRZtpmCRY2nSAV4TKh3KV2yiZyK"
    "3JJnKxdOLYUBMCwv8OelIyxj5/dBrTFJv5h9E1a2cewudMYhQJWvPUsv7Sw2h+6fI/okC3"
    "Or0LFxzDsiemW4tbwUXUkzAxBUdGKY4EdQhSnIkVyXW+BP1xgKqAQYzUHtHni6G2RjVDsS"
    "sMhnz3ZkU/1OugJZxLnUeoX6Le87IS5l4cXjP0lvmjJwlRNS75hn+wtE3IsQ2ZGC8yUkNW"
    "waf6qBXF+QGbSQjWRRWMI03iJLg/UZa1DpDiMctamPs9F4jlmXsMj7EZAyIuTWUMk+F1bY"
    "bmjGNhkwHK2HCIytgGg1zSfxiHjKEjQoeB4E3HNrYY8JEY03j5Gg2wtl97gmP2y39zWo5f"
    "bWwSRFFg/zwuOX7ikmNIKZv6CiGREqYzt59JCHf2DDBHxEoI9fYzx66ZyuEbhOWOnkHRPY"
    "OwxulslDiwUmeGkMT+cnQFnyFivtYqwHF0Lw0TaxPyHc9j6fAIqAsf6XZRzYGB++b3Hp8a"
    "dEsTvSydlHCngnf3XCLXvPODFt8W2LfPcV5d1BM8Vl8b6W4qlMi+6jdxT8HC6MwMm5ZBTu"
    "BmAtEsNjG4ktArmPGcEduMt4WGeXnUlEf8DL8WjgT1HOeMAi1k6Opdknu65dqP+96K5YRq"
    "ao5tWStCx91vUTc0lq6iYyjzhqwVoRK6oNtPv2beh/UJG7D214u3vgULLLsGlanyOGUzzv"
    "tL9JEqigw7e8m3BFqVgkdk0B00GWtqjci9KLV7903mBZ5m5Fov38S6pBuXBNviT8k5gq+Y"
    "8DECO6gIjHxI+wniW9D/ouFFUf+BqNvH5CO5+LBX52a4NZywi+ZiIXv5vY915MIZV3x6ev"
    "3ARn9aFPm2y9jvDkMopCfu1/CLTtZFgM8hpq1u0fjFzkDl2FMz1bp7t/Dlj6sBnxmIrSom"
    "j3MVUW2RfasO378C56pSpa4V3+nAT25Eev22KPH9n3K3N+z1Wz9bHcpzNiId8ep6uEo9H5"
    "Fhnxc7Qh9cXbq5vce3rukSAnDTymVJuJcFSehf/Wwydf85q1Quj/u2SdSSHrTEY5bwCMwS"
    "ukTkiqzunBHMlh3lZ41kAXjBXr7sxjoztYwLz9LjwrMosOk7yt63WbveXbYVa+WZjhbfpz"
    "Eg0nVZQaZvZlyqjswJ9qhhIzU1bMN0N9JSY3Xb+u7qXXkKmS6qJt0bwZ+/Wmq8ANzyR9S5"
    "WsMet+F7CWo2o2JvhP6gJzUX6W06AV3xkjjghyKlGuYEEc1aushFUVDWROKqVJFHWmEWsz"
    "3IcuXGE0T3tqlzX193bj1B7oGWOX8bESth195+FtdL+ZiuVZPBi1QyLkokSZcQ+O3YlIJs"
    "pLxz0+4KWkCSkJQIlZ+sz0xEOAvzBckxAfHBBMQU1GDk9vwC6SIbg8RFnQIs4swcc2ZY2d"
    "YuA5EiI16YxWETw2vStY5s011IqHzf5nzbJEL5lh6hfItFKJYz/h9W7Hyuc6JwCTv3LjaY"
    "PGDTP5Vs884dEipdnmsHQaFjK0Za6L1BbiQQ32tixP1UJHtmRGqL0hVNjbjyI3LDDwb0lI"
    "EZsix6yMAlzWC16TM1nd5HjzAowKzqnpyQ6fuKQKJ8RzLt4jvM4yeB6eiXd9uJhW1bz6X1"
    "VcnjZpMD3myy03yFZujpyYpl4cnaTMUK2y7TFGs3VVCUFMUxF1usQPTX8hi6FJZj2uO47+"
    "K47+K476Ik+y7Cti2juxARLaGXeOgOQ2RIZUtAlHn9aDfhFrg5WQD2+UuIb30DdOup2Nbj"
    "qYKgTRkAjoiVEGeuvkmOGLjSp956LEv8oCWt87exok2Rnoy0LxKdAzyZrwvZA4R7DbptoS"
    "WC9/SlWjnxPBuw9pr3cfPyROXK4R6eufugYRvnZ5Z+d6PUk2T4G4hD8O8JNBP+LOhmEBf4"
    "1CXlivrw9OBar+16Hkd+B+fFmoaCVcfMH8GFKyi0sgZi94bGYZY2nemFVQg9iTm3MpbCe0"
    "zBO8TtAnRlI+tKya100++1BG9xJFTPiCzpMvDwIl078QtlYEQa5fHo7u9rXmp3gFvoDIT7"
    "a6EPan5ERKX5UgwtfnnEXgfNPIVXNpnBK+kTeGyOyXUo//Ew/qwLjvE84aZYxyXLt5619U"
    "V06ktadF9jdrwTRHMBHl3OKNB6+vZnCQqaCsYtKeRKP5h8VeqD55IfzvJRwn9LCGaT7Jm1"
    "qOxxKa7QmTXwD/IoORA76rdo+i3IUiuPTU15ZBPWWRclJ2uPKgt4jhvB9zYv73hF9BmbVs"
    "Y8aEikhJ49V98k2wxca3KgsYwzHVQZEF6wlxDdamWT+BS40l3LSixChSfaif+HIf1/BIRE"
    "jv8mIOO/CfjUyezt/0hhCHU="
)

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
    "provider_id" VARCHAR(64) NOT NULL,
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
    "eJztXW1zosoS/iuUn/ZW5W5FEk3W+4koSbhrMKXuZvesp6gRJmZucMbDS17qnPz32wMiyI"
    "srrBpkrbIK6emG8emZnu6eBv+uTZmBTftjxyJP2OoSHVMd11rC3zWKpvxLOsORUEOzWdjM"
    "CQ4am56E4bFqZoR3bDsW0h1ovUemjYFkYFu3yMwhjAKVuqbJiUwHRkInIcml5C8Xaw6bYO"
    "cBW9Dw408gE2rgF2wHp7NH7Z5g01jqOTH4vT265rzOPJpCnUuPkd9trOnMdKc0ZJ69Og+M"
    "LrgJdTh1gim2kIP55R3L5d3nvZv/3uAX+T0NWfwuRmQMfI9c04n83LEW0mqapvaG2kAeal"
    "otB0A6oxxc6Krt/foJ78K/xfrp2en5SfP0HFi8bi4oZ2/+rUNgfEEPHnVYe/PakYN8Dg/j"
    "EFTqTseghgSw7QdkpSMbSsTQhW7H0Q2wLC+8U/SimZhOnAc4rZ+vwPKr1G9fS/0P9fN/8R"
    "symAD+/FDnLaLXxOEO4b0nJtbyYxwT2wzQASFEOpy8u4daXAdqMRtqMQ71AzMNMFPeaQ6o"
    "Y2IVhPpkHahPsqE+yYJ6BkgVwXohtzuwa7XdjOr6OqO6nj2q63Go56uuppvIttOxlsFQeH"
    "gr0DM0X6KXcE9cpMyjvCbVW4JUH1FJhKMIxxM4nozoBdAvgH4B9Augt+G8DedtOG/zc+Br"
    "A1/7FI6ncGzAsQHHJhybI9ppCZ0RlVuCPKKXLeFyRG9aws2Iqi1BHdHblnBbK6Dy0zU0fp"
    "qp8NO4voltu3BzDbmgIYs4r3nmV6pwmXVdcJo11wG9mY16MwH7EzKJod1bbJrEuwMwpeO9"
    "LBUDGlwu7JAp/si/7CHkKyDuSEM5FUCH5YfPl/mtwQOz7biFrXsovcP1lDJrisycq2pN7f"
    "VvpC6A5kmDMf52q/RlMMz4ZUYsbICRloeSonKSgR2Ak9MGXwa3strhRNu1Zxj6BdS+/LX3"
    "mdMs/MQeOaX3Ve53vsia/E0Cy84gaDUg1MQvaBq2gZQi34WtIEzwcxHDX2+us9Y3s9f6Zt"
    "wIzZh3p8QwGABWZmakG0r9PNrdlPqPt2Xm/Wj3RDxrLgJdfrIqxh3AiOoGgW4Ipv4KiGsw"
    "Nywnj02Kif12ZolnX+4fI6kCThgj/fEZWbDUxVuYyLJ4k01TcRqnIIomHgy8v7x38/RUz3"
    "XG7OUG2zaapOavlhmOVuWvbEQN4NWYJ1Ku/NUFmfwuKaxPonhyciYenzTPG6dnZ43z48UU"
    "TzatmvAXyhWf7ktm9eeJrkf48Xl86YB/W2vq+2W5Np8PsLBOZgTTFEubDfCSUPVQrotrJR"
    "PFFdlEMZFOHDMjJSD876CnpmMc8MeXMaI7wj+CSeyteQjvs4hxJPiVp7b9lxlF88ON9C0O"
    "dLvbu/DAYbYzsbyreBe4iHsSFubgaCjDkeAOQYYzsSS5ypfgX/ZQFTCJkdGj5ut8qq1QzV"
    "C5kQdD6eZ2ST/c6+Atokd9jVE/xL3nxUWEO2V4LfBT4Y+eKsfVuOAb/lHjfUKuwzTKnjVk"
    "RKxCQA1QK4vzAzaTUmwqBhhHnsRJcX/iLCsdIN1n1kiU+2cuUE0S7jDcxhEYRFzEEJglSC"
    "aZoVfBtbElAGXMXGoIDhOQR/qP4NIxDEQYMBC8mdjBtgA+kmCx54/xAGvzV09xzH4Ev5y3"
    "4xcHWxRxFGp/HrYc33HLMaKUdX2FiEgF05mbzyREB3sOmGNiFYR685ljz0wV8A2icgfPoO"
    "yeQVTjfDVKnViZK0NEYnc5upKvEAlfaxngJLqXzMJkQj/j10Q6PAbq3Ef6Mr/MnoH7Foye"
    "gBoOSws9L5yU6KCC3+67RJ55lwZtqSPX3t7HefVQT/FYA21ku6nQogWqX8c9BQtjCjNs2Y"
    "wewckEollsYXAlYVQI41dB6Qh+CY3w/ED0B/wE3+aOBPccXwUdeijw3bs093TDVz/UvZXL"
    "CSVGgbKsJaFD9VvcDU2kq/gcyl2QtSRUQRd08+nX3HVY71CAtbtRvPESLLDsBC5maOOMYp"
    "yfb9HHLlFm2GuXUlvml9LxiA5uBi3Bntojeqeond5dS3iGu7FC++XrWJds45JiW4IluUDw"
    "lRA+RGB7FYHRX9J+ivgG9D/veFnUvyfqDjD5lVx81KvzMtwEp1TRXMxlLz/3sYk8OJOKz0"
    "6v79nsz4oi37YZ+33FEAqZqfUaQdPRqgjwKcK00RKNH7UZqBz7auZa987mvvxhN+A9A7Fl"
    "xRRxrmKqLbNv1ZX6V+BcHde5ayV1u/BVHNFev6OoUv+7dtMb9vrt7+0u5zkb0a5ydT1cpp"
    "6P6LAvKV25D64uL27vSe1rvoUA3PzimirfabIq96++t4RGcJ9lqljEfVsnaskOWpIxS3QG"
    "5gldYnJlVnfBCGbDjvIToXkAnrNXL7uxykwt4sKz7LjwLA5sdkXZz23WtqvLNmKtfNPRlv"
    "o8BkSmqenICsyMRzWRNcE+NWqkpsxhlldIy43Vl/ZnT+/6Y8R0cTWZ/gx+/91S9gxwa7+i"
    "zuUr7LAM309Q13Iq9lbuD3pqa57e5gvQlaQqA2mocCqzJogSe+Eil0VBeROJy1Jlnmml2c"
    "z2ISuUG08R3VlR566e7tx4gtwHLXf+NiZWwaG9+Syun/KxPKumgRep59yUSJOuIPCbsSkl"
    "KaT86qXddTSHJCUpEWk/Wp2ZiHGW5gmSQwLiFxMQU1ADK+z5hdJlNgapmzol2MSZudaM2f"
    "n2LkORMiNems1hC8PP5Hsd+Za7iFD1ns35tE6E8ik7QvmUiFBsd/w/rDvFXOdU4QoO7m0U"
    "mNxjK3gr2fqDOyJUuTzX5oPCmcWeiJFR87rCUC+LVe5dP1uIvl1HZ1k5jjWSUKH4TjNQ3j"
    "M5+VNQakdRr3gOypMf0VtpMOCvc5gh2+Zvc7jkqcIOvycx+Xn8XRElcF+8V1TkepAllKjc"
    "fNjKA6+HZy+z0a9ufY+NHccspPVlyUNVzx5X9Ww1MUSYmZ0VWjQerUwJLbFtMx+0snqFo6"
    "TrrjWvZQPRH4v3/WWwHPJLhwKXQ4HLocClIgUuUduW012IiVbQS9x3hyE2pfJleqq8Ubed"
    "cAvcnDwAB/wVxLexBrqNTGwbyVRB2KccAMfEKoiz2FgnGQ9c2UtvI5GOvydpBRUdrJMpMt"
    "ORDkTia4Av83Euu4dwr0C3I7cV8J4+1I+PfM8GrD3xnyJfvLr6eH/fUrr9oGETLyqtfBmp"
    "2lM1+AyUIfj3FLoJHxuGGcQFAXVBueI+PH9DsN93s4gjv4UX81pMx4ZrFY/gohcotbIGys"
    "0tj8NsMp2ZpVUIf+V1YWUshHeYgnepNwT4zkbenZIv6m2/15b9zZHIdUZ0QdeAR1L43knQ"
    "qAEjIpzHp3vfryW10wVuuTuQ767lPqj5AVGD50sx9Pj5AfsDNPcSfrzOCn6cvYAn1phC/3"
    "5w+NeDvBuOyTzhulgnJau3n7XxagXuS9q8gDQ/3imihQCPb2eUqHBh86sEB80A45YWcmW/"
    "AX5Z6hdfAL8/20cpf0sRrib5M2tx2cNWXKkza+AfFFFyKHbQb9n0W5KtVglbRH+opeyzzl"
    "uOVr4TLuQ5VNzvbF3e8o7oE7bsnHnQiEgFPXuxsU62GbhW5EATGWc+qXIgPGevILr143Xi"
    "U+DKdi2PExEq3NFJ/cOL7D9jiIgc/o8h5/8xvOti9vZ/i3p7RA=="
)

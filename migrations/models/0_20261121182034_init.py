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
    "eJztW1uPokoQ/ivGpz3JnI3ibY5viOwMZxWNOjN7cUNa6NHOYOMCziV79r+falCR64KrDu"
    "OamCDVVdB8RVdXfU3/KM4NDevW+7ZJHrHZISqmKi42Cz+KFM3Zn2iFi0IRLRZeMxPYaKI7"
    "FpqjquhbuhPLNpFqQ+s90i0MIg1bqkkWNjEoSOlS15nQUEGR0KknWlLyfYkV25hie4ZNaP"
    "j6DcSEavgZW+vTxYNyT7Cu+XpONHZvR67YLwtHJlH7g6PI7jZRVENfzqmnvHixZwbdaBNq"
    "M+kUU2wiG7PL2+aSdZ/1bvW86ydye+qpuF3cstHwPVrq9tbjThRPVlQUuTdShuJIUYoZAF"
    "INysCFrlrO009ZF/7mytVG9bJSr16CitPNjaTx0721B4xr6MAjj4o/nXZkI1fDwdgDlS7n"
    "E3BDCFhhhsxoZD2LALrQ7SC6ayzzC+8cPSs6plN7BqflywQsb/mBcM0P3pUv/2I3NGAAuO"
    "NDXrVwThOD24P3nuhYyY5xwGw/QK8FHtLe4D0+1FwaqLl4qLkg1DND1yBMOacZoA6YnSDU"
    "lTRQV+KhrsRBvQCkdsF6Y3c8sIvF47zV5TRvdTn+rS4HoV7NuoqqI8uKxlqEQOHgLUHP0G"
    "qK9uEeukie3/IiX24W+PKY8hwcOThW4FgZ0xbIWyBvgbwFcgHOBTgX4Fxg56AngJ5QhWMV"
    "jjU41uBYh2N9TNvNQntMxWZBHNMPzcKHMe02C90xlZsFeUz7zUK/uIPLqyk8Xo11eDXob2"
    "JZS7i5gpbgIZPYL1nGV6Rxnn294zCrpwG9Ho96PQT7I9KJptybxjyMdxtgisbbbxUAGlIu"
    "bJM5fs/+vEHIEyBu8yMxEkDbyA6fa/NHgwdh217uHN096yPOp9Qw50jPOKsW5d6gy3cANM"
    "cagvGnvjQQITDj5wUxsQZBWhzxksxEGrYBTiYb3gz7otxmQmtpLTD0C6QD8bb3kclM/Gg8"
    "MEnvVhy0b0RF/MRDZDegaNWg1MTPaO61gZUk3nmtYEzw0y6Bv1xPM9fX4+f6ejAILQznTq"
    "HXYAhY6bGVrmf162p3X+4vHSrMu9VuhWvUN4UuO0mqcYfwRnXWha4HpvoCiCswNkw7S0wK"
    "mP1xYYmxL/cPW1QBE0yQ+vCETJjqgi0GZ8Tphpvm3DwoQRRNHRhYf1nvVvRUb2lPjOcuti"
    "w0jeSv/AoXSfyVhagGuorhmOSLv2qR6Z9CYf3DcZVKgytV6pe1aqNRuyxthni4KWnAt6Qr"
    "Ntx9YfXXRNcDPHyWXHqtf6g59fVYrv3zASZWyYJgGhFp4wH2GZ0eymUuFZnIJbCJXIhOnB"
    "haREH477AnR2O81g9OY0S1C/8VdGIdLEN4nUmMIcGuPLes7/o2mu+6/Kcg0EKn13LAMSx7"
    "ajpXcS7QCmYSJmbgKCgmkWAJQUwy4bNMyiXYnzfoChjESOtR/WU11BJcM5K64nDEd/s+/7"
    "Csg7VwjvQlIH0XzJ43FyncSaPrAjstfOnJYtCNG73RlyLrE1rahkKNJwVpW1FhLV2jlpfk"
    "5xbPiPvAobRn3ZSY8DxuKe010/laXOjwcrqvMIPcOVutU3w7r+O94jqe3zG70AgB1+aYNS"
    "x2+MGVCFVoeUyd6g/+clDiD9qSzA8+K93eqDcQPgsdptMY0450dT3ySy/HdDTgpY44gJma"
    "ccQ9XrhmNT1os4srsniniLI4uPrcLNTW9/FLuV1YgzS5V3zqFcq8fCMwQ/IVtMuzu3dMwN"
    "KkX/HJVyj1eiQ0C8Ar9dNbIk8KU5usthGf1DaCwMYXZr+OWYcu0vYSrdzQIfAQaizG5Ckq"
    "MtdhxpHqyJxiV7odpOaGbZgOH8WC1Y3w0fG7+rAVupibdHcEvz59aTwB3MrvuNN/hSOy2Q"
    "tsWgbNymb3xQGUC82Ca80moCtelob8SGJSw5wiSizkaOfIQVk/kPBb5Xmk5WY10YWMaDtM"
    "zBGmR+NGjvWRxN6/snJBy/w5SsDsBF/t/X+PYuIpYfdj/VIgi1QzIR5tfYLA7yem5IWPII"
    "aOVniEGYlN40UiJ+FTO+T6SyJJwVBS1aVpuqwcmH7dfB0Vo3LmMc48xpnHOPMYJ8JjbMe2"
    "ENDJyxkB0xNcz3gj6xdrTEILGIEhlS05O+V87CCrsSqkOVkAXuufIL61FOjWYrGtBZHd7l"
    "MGgANmJ4gzV0vDCoFW/NRbC/FC9ySqbm5jlcyRHrdBKbJm1lyb9yvbNwh30hdyoiBB9vSu"
    "XLpwMxuI9sTG28BXS2/3m87DFw37+Kzz5FcL5J6swG8ojUT2nTRV4GfBawZ1wVq6kVyxHJ"
    "59T+32Xc8HzbwwDRVrS3P3Cm77Arl21lDq9lkdZpH5Qs+tQ9gGgZ2dsTE+4nLMkjqvgGXh"
    "dWhM7ZEbuT/oCeJwyHYGbF1nTDdyBXR4CZo3jQooIsJ0XLnz/5qX2x3QFjtD8e5aHICbZ4"
    "hqOqhj6PHTDLsvaOYpvJRmBi/FT+ChOWanvWLnPWJZV3XCPGFarMOWp7fzde+LOiyXtNg6"
    "QXa8I0x3AnxFrOaEeT3wLMFA0yC4RZVc8ftl/Fa/uV0miHeOa4HwJj5vNsnOrAVt90CtvR"
    "0s3x6zBvnBLk72zM7+zZt/c7LUymOTqLNixDrrquUiaZEVeTq52eF2XhH9zRXRR2xaGXnQ"
    "LZMTzOy5Whq2GbQSONAQ48wGVQaEV+oniG65lKY+Ba341LIUqlDhjnbk9sD4rWtbJufdax"
    "l3r73qZPbzf2aGuuM="
)

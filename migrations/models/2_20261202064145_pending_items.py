from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "pending_item" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "conversation" VARCHAR(96) NOT NULL,
    "kind" VARCHAR(32) NOT NULL,
    "reference" VARCHAR(64) NOT NULL,
    "title" VARCHAR(64) NOT NULL,
    "flow" VARCHAR(32) NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "opened_at" TIMESTAMPTZ,
    "expires_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_pending_ite_convers_708992" UNIQUE ("conversation", "kind", "reference")
);
CREATE INDEX IF NOT EXISTS "idx_pending_ite_convers_89d5b5" ON "pending_item" ("conversation", "opened_at", "expires_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "pending_item";"""


MODELS_STATE = (
    "eJztXXtv4joW/yoRf81K3VGhz+GuVkohbdmhoQI6nbnDKAqJAW+Dzc2jLbo7332P8yBvSp"
    "hAQyYSEsQ+xzG/Yx+fh+P8XZtTFWnGx7aOn5HexQoiCqo1ub9rRJ6zH8kER1xNXiz8alZg"
    "ymPN5lBtUkkL0I4NU5cVE2onsmYgKFKRoeh4YWJKoJRYmsYKqQKEmEz9IovgvywkmXSKzB"
    "nSoeL7DyjGREWvyPAuF0/SBCNNDfUcq+zedrlkLhd2WYeY1zYhu9tYUqhmzYlPvFiaM0pW"
    "1JiYrHSKCNJlE7HmTd1i3We9c/+v94+cnvokThcDPCqayJZmBv7uWPLLapIk9obSQBhKUi"
    "0DQAolDFzoqmH/+ynrwj8b9dOL08uT89NLILG7uSq5+Onc2gfGYbThEYe1n3a9bMoOhY2x"
    "Dyqx5mMQQwzY1kzWk5H1OSLoQrej6HpYFhfeufwqaYhMzRlc1i/XYPmF77du+f6H+uU/2A"
    "0pTABnfohuTcOuYnD78E6whqTsGEfY8gHaK/CR9ifv/qFubAJ1Ix3qRhTqGdVUUFP2ZQao"
    "I2wlhPpkE6hP0qE+SYN6AUhtg/WKb39g12r7GdX1TUZ1PX1U16NQu6uupGiyYSRjLYCisP"
    "HuQM9kd4kO4R5rpMijvMbXmxxfHxG+Ad8N+D6B75MRuYLyKyi/gvIrKG/BdQuuW3DdYtdA"
    "1wK61il8n8L3GXyfwfc5fJ+PSLvJtUdEaHLCiFw3uesRuWtydyMiNjlxRO6b3H1tC5Gfbi"
    "Dx01SBn0bljQ3DgptLsgUS0rG5zDK/EpmLLOstp9n5JqCfp6N+HoP9WdawKk10Oo/j3QaY"
    "kvEOc0WABpMLmXiOPrIfBwj5Gojb/FBIBNCk2eFzeH5r8EBtm9bW2t3n3uN6Sqg+l7WMq2"
    "pN7PXv+C6AZnODMv563+kLoJjR6wLrSAUlLQz5jsiKVGQCnKxs8DC4F8Q2KzQsY4GgX1Da"
    "F770PrMyHT3TJ1bS+yL02w+CJHzlQbNTcFpVcDXRqzz364CrIzz6tcCM0cs2ir9+vslaf5"
    "6+1p9HldCC2neKDYMBYKWlero+19vebl7iP96Vmne83ZPGxfnK0WUX63zcAYyorufo+mAq"
    "S0Bcgrmhm1l0UoTtt1NLLPoyeQqECljBWFaeXmQdlrpoDW3QNNp41bwxj5bIRJ7aMLD+st"
    "654ameZY7p6x0yDHmaGL8KExyti18ZMlGBVqI2S7HiV1d4+ruEsD41GicnF43jk/PLs9OL"
    "i7PL49UUj1etm/BXnRs23UNq9e1A1xP8+Sy2tEe/qzX1/aJc+ccDdKTgBUYkQdOmAxxiKh"
    "/K9cZGwcTGmmhiIxZOHFM1wSH8z6AnJmPs0UeXMayY3P84DRs7sxDeZxFjSLCW54bxlxZE"
    "88Md/zUKdKvbu7LBoYY51e1W7AauopaEjhg4kpxiSDCDIMWYCHGusyXYjwMUBUxiWe0Rbe"
    "lOtTWiGXbuhMGQv7sPyYdZHaymYZcuI6UfotbzqhHusTO85dgl92dPFKJiXNEN/6yxPsmW"
    "SSVCXyRZDWgFr9RDrSjGzz14OIB6x0TzJNMnWL3W8Fk4hBL2KHM1e76zwQBelCHb3Ef+kq"
    "mjCdLtXOGPiG0U56HQydUMcbxAg139qMyoQppRUfltutpH+UoYlfy0SUDgU3pA4FMsIFA0"
    "m7VUSSxfS2UyWgNMJYQ5/8i6iU0tE8QrhgreDeCdaPQlC7oefQnBzV9FsFUwi7vl0e/f3a"
    "r9a2IRheHHjS2smZgYH9lt/50xQl85YQc4C8rlhAWlHvIOsgg9xJiDzN3OFkXkByJiD5O1"
    "Mg44fRmFHOYs4cw+dDEXJJ5yhe04iPDMgs0JAZVQ/dG6iMrYoZTQivStkEqNt1RscnTCKT"
    "PZ5NwGDG4uq4iTicrZ2ewj7gktTG5CdW5KqfqxFhke27UyIiPSI4jT6Qu3QDqHVeg1Npfc"
    "mFoEqC1i/+CAXkcLTVZWTcgTE+jNGfJuxWED2iToI3cPXjwlLHnPrB3OMOWlwYHZwYgtA7"
    "jgbn9wstPR1R2BnYGucmP4bRrcwkCWSslyTi0DqKABbWn/62p/eLH2h4MYCUFaplCPz1JC"
    "LyP/bR/oFSYbzCgpaQCnwxxhK18GLX9nWVbSw5Zv77PyuYs8rGtXvQex3XR0/Ig8iO61q+"
    "zZvqn7Lt9yNk45Sj+62mwinE2Sm+mpzVhiM7vxV1qjr8TuHLMPErVc6jId4Njf7raCL9cx"
    "qzoMcBzda6ojPCWf0TKm4CKgugbxg9vMgYH70xs9Xqk/LHX5ZWUxBgcV/Hf4x8i0/30fxn"
    "e/0wKM38dPaTmGU8c1mmsJrkqUZK234hpiEg5Sv+2wcI+oxYx3FkPBtnfAa3ghLx3zHkoc"
    "r8GkYOWzoj/Y2uK6CQ6Yhu0NgCOQ4Mjk3XpyZto3QYNmUjQdXbkSlStRuRJ7cyVKlXiz1d"
    "QWQcsgX2W9VtbrQQm3sl6La722+EGLbwvvZbzaqCdYrJ400s1UqJE80W9inoKG0Vg826Dk"
    "CC6m2IDVC7EYsoJYfLnT5pyjE7iXGVZm6Bl+uYYEsxyXnAI95NhTm0nmac6tV/HsYhmhWN"
    "3iOI4QU3XqSdQMjUXz2BzKfBBHiKmEJmj+25Myn7/xDgdv7G8U5370Bmh2DI2p0jjlEIa3"
    "UwaRJooMe+2abwmsKQWNyOBu0OSMuTEijx2x3Xtsci9wN7rVc9I5Zwr8JXkL5yvGXHlgB+"
    "WBkV+SfgJ7tTXsgPcMBYIxwX05CScoXLn815/7SEt7BiVlN9CBTf80NzI0kdyMAEa/iFVC"
    "OqIscO3SV/6CwHW04Yi5y17V0TqP+TlAlPMzfQsQOXLEzKRuX7m+T5U9eU/HNSyYbYzRiG"
    "iLbIt2+f4NGKPHdWaK8t0u/GyMSK/f7oh8/5t01xv2+q1vrS6juRiRbufmdhguvRyRYZ/v"
    "dIU+uAbsELge37plKRegZo1LovAoCaLQv/nW5M68+4RLG9uYu5t4eelOXtzHC87ARMGnuH"
    "oRviKLe0uPL2fH4hlneqDVJS9fNGidmlr50RfpfvTF5k+xvq2zDuGJVucEKqnF95nPLGua"
    "pMi6p2bsUk3Wp8gpDSqpOTWpbh84xZTVQ+uzLXflKaC6mJg0Zwa/f3aZvgDc0q+IM9zCHo"
    "+rcwL6tYyCvRf6g57YdNMBbAG64cXOgB92WCnVpzLB/iPtRRFQ1sBrmKvIM60wyX8Hsq1y"
    "CQmse9u6va9TkHNPKDigZY53R9hKOLTzj3o7ITLd1mqSvT88WxInibuEwOejUwrygNwXO0"
    "2hyC4kCUGJQP3R+shEhLIwJy1WAYhfDEDMQQx0a8vP5y6yMkhMghUg6bWw9AU1suV6fZYi"
    "I16YZLqO4G+y3FC25S7AVL4n8PI/0cqwxv9Firmd6ZzIXMLBvYsNOcU466pAca78ncKFTp"
    "+xmrJHeI2iDrOV7p04O/C+LVOhaTGODYJQPvteI1B2Wjl7CEpsd8QbFoOy+Ufknh8M2NO7"
    "C9kw2FsPrlmosM3uiTV2HX2nQgHMF/tVDpke/PE5SjcfdnIwdHU8Vjr65d0PZSDT1LaSep"
    "iz2gV1wLugdhoYwlRLjwqtKo/WhoRCZLuMB63dvcJQUhRLd/f+Aev31XvxUkiq+FK1waXa"
    "4FJtcCnJBpegbstoLkRYS2glHrrBEJlS2SI9ZU7U7cbdAjMnC8AefQnxPdsA3bNUbM/ioQ"
    "K/TxkAjrCVEOfG2SbBeKBKX3rPYuH4CU7aUNFGCp7LWjLSHkt0DXB4Prq8Bwj3GnTbQqsD"
    "1tOH+vGRY9mAtsfOU/erVzwfH+7bPHfvNOTxQs/SbyMVe6IEn0FnCPY9gW7Cx4BhBn6BV7"
    "oquWE2PHuTrtN3bRtDfgcvsNWpglRL396DCzZQaGENOnf3zA8z8HyhFVYg7NXQWwtjxbzH"
    "ELxF7CHAMhtZMyUP4n2/1xKc5EignRFZlUtAw3dY7sSrlIBQxozGKbd/3/JiuwvUQncgPN"
    "4KfRDzTCYqi5ci6PHLDDkDNPMSfrzJCn6cvoDH1hhwA2ZUd5+829RWCjEVeZIVJuEYjxNu"
    "inWcs3z5rNx3KzBb0mAbSLPjncC6FeDRdEaBNi7kv0ow0FRQbkkuV/qb0sNcv/ii9MNJH7"
    "nvSY+ZPfZqkj2yFuWtUnGFjqyBfbCNkH22Sr5Fk29BUq080rEyqyXkWd2ao7Vn6Pk01Y77"
    "va3LO86IshfmZoyDBlhKaNk3zjaJNgPVmhhoLOLMJlUGhF3yEqJbP97EPwWqdNPyOOahwh"
    "1N9yCdMMLpb9EMsOz/RZrvs1Dm9srMd13Mfv4fAsN7nw=="
)

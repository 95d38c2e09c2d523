from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "processing_case" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "conversation" VARCHAR(96) NOT NULL,
    "state" VARCHAR(20) NOT NULL,
    "owner_asked" VARCHAR(8) NOT NULL,
    "owner_id_number" VARCHAR(18) NOT NULL,
    "owner_check" VARCHAR(64) NOT NULL,
    "token_hash" VARCHAR(64) UNIQUE,
    "open_key" INT UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "ended_at" TIMESTAMPTZ,
    "processor_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "violation_id" INT NOT NULL REFERENCES "violation" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_processing__owner_c_edd80e" ON "processing_case" ("owner_check");
COMMENT ON COLUMN "processing_case"."state" IS 'AWAITING_OWNER: awaiting_owner\nAWAITING_PROCESSOR: awaiting_processor\nPROCESSED: processed\nREFUSED: refused\nFAILED: failed\nEXPIRED: expired\nCANCELLED: cancelled';
COMMENT ON COLUMN "processing_case"."owner_asked" IS 'NOT_NEEDED: none\nCHAT: chat\nSMS: sms';
        CREATE TABLE IF NOT EXISTS "processing_notice" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "decision_number" VARCHAR(16) NOT NULL UNIQUE,
    "due_at" TIMESTAMPTZ NOT NULL,
    "ready_at" TIMESTAMPTZ,
    "text" TEXT NOT NULL,
    "user_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "violation_id" INT NOT NULL UNIQUE REFERENCES "violation" ("id") ON DELETE RESTRICT,
    "case_id" INT NOT NULL UNIQUE REFERENCES "processing_case" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_processing__due_at_843982" ON "processing_notice" ("due_at");
COMMENT ON TABLE "processing_notice" IS '处理通知书 of one processed violation; ``ready_at`` once made and the user told.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "processing_notice";
        DROP TABLE IF EXISTS "processing_case";"""


MODELS_STATE = (
    "eJztXWtz4jjW/isqvmymKtsVyK2beWurHEK62SGQBdKZ2WbL7dgieGMk1jZJU7vz398jX/"
    "Dd2I4hxq2qrg7IOrJ5jiydu/7bWFAFa8aHDiUGJmb3RVUwkXGjjf7bINKCfUjqcowa0nLp"
    "dWANpvSoWTQzqmn0VZRtGhH7iR4NU5dkE7rNJM3A0KRgQ9bVpalSwoi/0FckEQW9zjGBD4"
    "i+EqzDB+MV61hBEtLxf1bYMI/RM16aaEZ19ESp8oGNrlAZhlfJ01sHWhEVrokmfcLmHOsw"
    "3Ld/QbNKFPwDG+7X5bM4U7GmBABTFTaA1S6a66XV1iPmjdWRPeMjAKOtFsTrvFybc0o2vV"
    "VistYnDM8rmZgNb+orBhVZaZoDsoue/aReF/sRfTQKnkkrjQHOqO0H8NoaojgYTsRxdyKK"
    "jQgzXAofrE4T4y0wEh7VsH79E3uEv7aaZ5dnH08vzj5CF+sxNy2Xf9q39oCxCS14BpPGn9"
    "Z1yZTsHhbGHqjyXCIEa1FkO3NJ75LVwoK3B88kORMtALOPPIQ1/Igw1i6yaWC7DR7a3mwu"
    "Dnej80WYtBE8rTkld8LnbhstpSc8JZ3hNXyW4U0Lz/IEdiykH6KGyZM5h68fU6D/Kozgpq"
    "Ojj7+wkSm8mvYrPHAutNgVxhuPF/De6/QFx0zzK0o1LJH4qe4nCzHhEeiqw4XMkz4F1qvh"
    "sM9GXhjGfzSroTcJAXx/e9UdHTUt3KGTamL/q+Cb+sB1cS4Z8/jJHw92gGh/U77R2NX6Ep"
    "jQF2cZZvTFWeKUZpdCc9qMonsN4JjqAidMZzMGWsUh+eB+qNesnvRuu+OJcHsXmNrXwqTL"
    "rrSs1nWo9egixIbNIOihN/mC2Ff0z+Gga8FJDfNJt+7o9Zv8s8GeSVqZVCQgVkiKHxO32W"
    "0KvjuaygQQoIBBjVwvUISSv0Vb36KVgXURNiwS8zYlQx2kqh3MrfOLDDhDr0SgrWtBpB3R"
    "VcwlbAaJtgudB7BYlSF3Mkl+9hwrdjqIRTG+oTpWn8hveB0RPEO4OvrTjaUSjbzxDgzoP9"
    "3J5LY2NgqGLr1u1KDQHAMc4NdjW7QZwXI+6nUAcob4oyQ/v0q6IgagZ1doi4ZaNn2jlxat"
    "RbhFIrCYKM4vYc8dYEEjRrl1rhxv12mzqbACclRf9KS+YAJIzTGyBwAN1MDYsFpe8FyFlx"
    "2B4qmpMtOQ0YqYqoZUE2GiGFGVtsyBY1Tcbw2Hkl13PoqGRs0GAPut4d7Ieh2cz77Lzq3Y"
    "VefjNtpgt5CC/a0Bj4oV0Ra0XiRNVUTrV9g9ue69N93bnnKFdW+PnOveb9W9/a9BToUlRF"
    "qC5uJM8optUbVQXOBd0s3N4peHzUFKrp9Wms3+HS4Pk/10/EWuPocf10V3Tz99oe1zP7xt"
    "3A9uhv3+8KENkqYt303JqPt1+BvsnTp+oc+wk/aFuzF81aSlUYm91C/gRtgzXkialig7hm"
    "kLKdMVe+0cOfK0dXmxESHZlzTpcXwr9PtRm3VQO8iJbYSYgxsAN6A15cQ2TMuhjZ+3b8E4"
    "cRAOdtDnIpvqCxafccLmmOB3CVCVsiW+r/Ye2OJOWxn2uNNW4ibHLiVM6Vy2kRAVtxXHOG"
    "bd1zsXsEGiGq0IpcHqila5YA0ScVijsFbGY3TwttIUf1HAyv02h9G9gStkHS3dTxTaYBIc"
    "RTHrQgnQfvVGOqw1ISu4wdUwA7Y+180bsb3WQTrT+9549UQ4uI2X4ObM4HMeEjyh8N++PM"
    "7vulDvzt9cgg9ZME28WJqNRFey2+E4Q5S05OubwbNsU7mxy4i51tro+3fy/TuiM8v7y+Jp"
    "/mIgZ1wDqQRJSJZAx1AkHa0x/Hd0hdV/A/y/xLmYd3CHWF/zytnhWH/2l0RcwNzPu08/r8"
    "uHPLYOl6ZOCmIZtg2SF0jCUYyiaEUG5nrXfRR1ApNrgZVDNUULdDc2rgGmSW6+V5XLzz+X"
    "/OyCmig/+1DfKj/7+L1dfp6A9KqsdDYEepVUO+vPzQ1kIq2VHYiOWmdo/ssHkHol49mKtA"
    "DhFybM2kCD+37fiaZkorBFGBGid3ObKZlLBnrELJ2R9UdH7NL4dowAgRVWjlnAJ2tagiAO"
    "T4KYr4QSuB9+ASH+l19BSof74iUjtxr19ZS4cr6GZybc0R75cQ19lzqVscFCSiUTKSrLmZ"
    "yZ2L6FTBcL1cyYK/nNnWY2VPALYYZZYaH2R8Y6BwAe3Ln34E6YBoZkPVcE3rQEsyBdlUM7"
    "C/riPmXJ2/iUnLbxKZK1Yb3FsNSKZLV4jJMRkvGOIa1dpkwzS4BPMznCpxkJ8dksL0VCrz"
    "bEewTaWblz4t246w6ue4PPbXflnxLh7m40/Nq9biM375bFY93cj1mTjmcgfUFL9/e73oi1"
    "4B9LVWctN0Kvzxpmkqqx7x1h0On2rSaZoaRpdgZvbt5meZmayS9TM/Iy2TtG8cg6P32VV6"
    "9AYDps9m1kLIwiLCg5fE7HkpFvz/Aoard0lZ9LydO+9wUyPAKOyQ1Ot9cFKfdnazrZrZxZ"
    "htXOpM+Y5J66Qaq6xXWVP3UJjXXYJgO8IajdulB+0NxGG43gu6UohI+O52VUOS/DEZTzRp"
    "+GyOq2TJX/JtmKhVEkxylAyRPZKv06ySDbF8tXDFJyNleazQqW1WIZi0FKvjdWmcs8sH2X"
    "vve8IQ1hMh7XwJMG3rccEo9uyOxX5wHuPMD9IBF+Y4C7TwH0FX8OQn/lUN78NsJakiM5uf"
    "x0TRaOP3OVPAunGiWj6kY7bcfWq35Wj6kctOR50fXl4OQL7a8JXIVCuLAytCKfEkO43A7H"
    "GUK4NkFUWRIgNsXtrHLubjqCWwVPQUdWqsJfzTlSVMNUiWwiSvAvoSrvrE6JYtOHfam7uM"
    "eUNFvN1ikLqZqpMLCdTmGYdMnSKOz7GCKLyDpGBkXmK3X89oACc7wTaqJHCvczpWdsPZAm"
    "GYnhV15uBbHDrNyv4SgSnnDxnrFXhxoOtDdzdPkBQTwvg+dlVGVp4BkElcogKC/IPagixk"
    "hIER0yWUJSrK6iT3/dKiMl48xPtamWAJB/3y97u6+Q77n8zZ5J2gVkqxBZHeWqLG7+ZrKb"
    "vxlx88+pBpqOaH3NAXWIrIZQlx9R4WC2BKSKYL2hq10YWLOZZVY3k2d1Mwy1awSVQdlOOD"
    "1me5x5ZJAqz/KG0GwjoTklQgv+tuDvKfw9nZIraL+C9itov4L2DnzvwPcOfO+w79CvA/06"
    "Z/D3DP6ew99z+HsBfy+m5LqNrqek20bdKblpo5spuW2j2ykZtNFgSu7a6C5shsnC8ixRlc"
    "lBlZGYStUwViy6S1oBh3TVzBUaFktcZV5XJpTVrkw/0+kiijeLKknw3gao0iJKDhDyFIhZ"
    "iEgsgCbND59N81ODx9K8VoVXd496j/spofpC0nLuqo3BcHQr9AE0izou+eu6OxF6A9akYB"
    "PgZG3j+zHLLmONxspYWvXI3dLe125tb2gZfu2Oru+7Yvd3AVZ2CkqrAqom/iEtvGtA1es+"
    "eFeBWMWvRRb+8tPJltS6U2QapJsHPSqeAuIPB11bxdHZURR51qQQ2U+3LEUsglkc7LZTKm"
    "bm5vGv19oHHCwUUQpS2cuCHApguzSIDlfmI/1xiw1Deoo1iAY7HKcZRA2JKNBXpBZJtQyi"
    "V+rTz2IT/dRqnZ5etk5OLz6en11enn882ewZ0UtpO8hV7zPbPwL79HbL6TP8+DzKmdt/V0"
    "JanVJ2dCyrSzXnIa4Bovqh3Gxlsk63UszTrYh9+pEqMRaGv4+Hg3iM3f5huUiVTfQ/pKmH"
    "fLBoHKwMCTbyJmfCRfPoVvg9DHSnP7yywPElQ7ABrsKiKc9USpzy8AOVIdHWnhB1CDktzq"
    "oQSWnJIU3vUvi5k9YLTGKLnbmXUgWepa/TLiUdXzEu30z/V6BKl0k1XqQrUSbaXaDYyhTh"
    "dgqG+Z1nUw7T1c5nXL7ww/IUDXimAn7jGNIaCkKlG954Bbo9VqBbwt1BUJfiTg+G6buQtA"
    "Q7p58uLPrYhB+cAQ4Q9TTLXLfTuxX6R82TY3sZAaFGtcPMNg7Gk4jfGH66OMMx7vlUkP1k"
    "HOMtGCvS2hAdR0IOkSNMxqNRY7JppQVdxan/qbPXI+Jzd8vcPbiylI5CkNfj2Bl1QfdjpS"
    "Nt+im5E/6w61RKa6tM5Z3Qu2bfVFZqsj+0qlPKGrWKU94PfhsMHwYsi+YZ9DpiF7C0XZGs"
    "giXzRBbxHZZcB7GIYF6+UF6hOKzyA0S0xHNCU8pRJB4SWiyzvwYKps8jpklPTziXBd1HUr"
    "sZuxPrLjc0FtlPq2RYdDFJLZbDC5z9FGxmIkoBHvvIeM2rKvPXFjqLLNZ+Qs7jKvPYVRoK"
    "cDlEyvlcZT67XqqcPPaRcf5Wmb9LaZ03/9xPwgu9xdTPU6kd+Jizgl6IjFtTt+f2bzCL4p"
    "y/0Jt/rAODOWuWf3iOZaj2Zr3tJcCbsX5CxdaGrMD618Q3FHjTsUx15Y1R1U4kzMgaqz6Q"
    "7zSqOohZcniRB+rWICNR9/ruNtbIH9XE44n2HE9k0JWedHhIBgfUhrrKIRcNuNa7+YOlu5"
    "nqbD0l/7jvjuAr3JOdemk5mxxfk+tYct1KFXAqVSviq0Km+l0cpMPmR6zcm3aYjo+obqeA"
    "7MQdYs/KtGTbNFfpu6TZ7mdG7+D0IlnGSzPOvXdFqYYlkhDA4SMLofwIdNVZ2sswelwNh/"
    "2AveOqF0pCGtzfXnVhmoeiOqK6M6y5Ms1X98ZHUuU9tErrB10yQGi+Kpk+mtqtG+XvhIeT"
    "j9T4P5DTrMPN0eNK1UyVGB/Ybf+2K+j3naVU4Og57kU+CMu1pWbntV37iLj1equF1WdbeK"
    "MB0JegdVgI57AB+uZWpaqo3tlHLfZMvGjEGbd8l49TTVvOkY2q27NUw9a3SB6Km2qu4xnW"
    "raKt4SrrURoQVMjGueyLC8pnF+PlB9i1fZQf4DlLe8xZqlqth3cEdxfFHtxVKgfCAaIawl"
    "y+amWqZtzJXilmL5eAw5sB3lnsUUhpwex2/xqCu4OUaNgF85gF3P7cLFC6WYDnFCS/BfUq"
    "XhIyfZJCTA8Q8pjGKluGeBpJbdlclTpEOpWxYQDSHcnAjTiTSrDHcapVZdNXlN3OlanD+L"
    "NYQXYWIMTtG3u0bxxaNYACsVjCg9Cb9AafxeHDoDtqI+lVUk22dljnGE7J5vrdaNjpjsdD"
    "fx9nqaHQz7nMKgA4rXYx8pv7sVsVwGq5EXp91jCTVI19j5Y67wiDTrdvdZIZsJpWrJhA6y"
    "TDdGidJE6HVqQ4hH20o2Q8J+Vnb58UoSH2WpmeuI+TJ1BPHHS7Vl0HRg/M+SJMgC9zyZyS"
    "8e24jYyFUYQ5ZQflHeh5nfvKoi/9AC8bNXmO5ef8YG/I9laE7WADP0z6jIk4l4x5LhNlgK"
    "puQZDlo8y08ZxVTPwkvIpJ5JQJbg2rq87MTSM/H5sLpub76biNs8oc3ihyOePfQmQ8yZgn"
    "cPME7veHeZcJ3O4rXwLEGZO4DxXd8Oq42xjOYNpcXNSQm/U9JHhC4b8Mud8bV8JgM+ZBbt"
    "Lx6d+FXDQOEqlOGg+tTG4aj2FbHTWN6er808nZdHV5dnIxXX06aUrw+RKfT1dn+OIC0Rmi"
    "BHsmWLR5xX9F378zR/waBLLv36GXjNFCUjCSiILMOUYreBsRq7TzIWzQ29tNubOpWs6mKh"
    "65UCFDVPknLrCjV/PrWR7VfhTpfSJeJy3LXQnz8tdPx/XoKnPYxD9iuDuB1gRDvdO/Bh6n"
    "NDZ2f58EOBgJuNxwsT8cfHa7h6Mwg0slkxzyadQ+Cq5MV91QUQO5yucOkQycD1QfBcdzm9"
    "lnZeyzplzVloGs5gjf8leCJSKT0c21NOzD5PauE3yHBjc3hvNNyEbjR2sJr2/VzDLF3xS0"
    "e6Vaycvdl4QTRAPXj9MsQY92TxG/ZD1MtCGsFNVkdhcWiYWcAQzPtGJ53o7RM16aaEZ19E"
    "RpjFmn0ChTMiUw8ZBOX9ES60hV4KlVc40e6YpA7xWxPiDor+OlJsmbIaSZyYw9c+zeCqkG"
    "jEnwB3SHdYMSSZsSZotAMJ3XBqLEMxHB3X5Fkv2gmzsCOQNdQY/w2TTQ0sArhZL1gq4M6A"
    "UDaGtuV6qgXQnYSAiOOekwJX7ZI6lyPG1lLEmgWGId3qic1fNCZPU7JbX84DFJTo7F3x4Q"
    "7FFXeVo3roZWFU5raWfnvznfncWeBXrf9YWOHeltL/rh3eYdooJ5qaafIQeTG4K4el0B3a"
    "Nc9bo8PaVjC049R2huxKgq4S6p2oojiImqv/d2hQU94A4T3lnctGppB4KmLqW1Ld5Di601"
    "mBSkfNb0K9tbHDXBBtOwtAFQBGIUmbJHjy8n5YmgfjEpXEOKqxJcleCqxN5UiXeEehd1Xm"
    "GZKuAh9tNx6ZVLrwfFXC69Vld67QjjjnDdfS/h1UI9RmJ1uZEspsIV0WV9FvEUVhiN2bMN"
    "So7hy5NqwO6FFTtk8XGNetfIjmRDr3NVnuMX+OQIEkxyXCMZnhDNdLqIE09LHp3bs6slhB"
    "ZKPN9BynmVYiNLTzln75BofckBcoCohiJo+TUFl3OnUERWiDcENYS32cwyi5vJs7gZhhdW"
    "dhUGU8THmGzzbC6D0BBVhr1xI3S6bCgZe/VCpuShN7gePrTRK9zNLvf5zp4Cb0suFJ4bIu"
    "Ya2EFpYORN3I8h5zHaVYvRjuiHyeqMr3Qx1TT6+sbjU2+sQQ7wjU/MnAtUd7Z+HUx7Ey+W"
    "ZilQCfZYNUdMx/DIRjmIjeyx6o0YLK5W8ahSEMPKkI1VV8Sco2PKOfj5YDerLRgFq6S+Fa"
    "s3x9ceGGZ2ynJpqGVOLz9I3AIBvm/ELBxWXEe8nNAC9a3zKyauoS5w7dLo/hXPVVsuj9jd"
    "3UvHaab3F1+nkk/0WgLLsc1mxnXrm2NE5WEY72kBDzKmiFUrxNoqG7X6wuhzt41OmsymJf"
    "T78LE1JcPRdW8gjP4Qb4eT4ajzR6fP+lxOSb/3+csk2PpxSiYjVgl51EbN8ynpDIXOFxa7"
    "Ab3Z4OKg+yB2B93R5z/a6Ny9T7C1VcRulsVcnGwtjhqL/W9gLOMTbMYhuiqzu6DpuGQL5Y"
    "uaq9y7071+bqW0ZWpjkL9MNshfZj/DbvuadQjn2TXspaMjjJjxXdI00Hd0d5mxWjVJf8J2"
    "q3+RWlCT6vIaIGSL1X3nN4vv8rNv6WJs0uw3+P3D1Oza0m9hZ3CEPdZksCMDGjkZe9cdjY"
    "eDthNXwDagz8KgNxYmPdZK9SeJqN6BD1VhUF4PbpCqym9aZaIID6Ma/nsVad9VMfzcjvMQ"
    "WQ2ndvnuc9vXpts59FaiWR7E46lrCHw5a8oBeM0O0fT8ri6gQwFstwYuFkAjS87Dxli5fN"
    "eP001doZ78oLW9LXg7tmgtgA20sCrhUVd5d4kNzyqiLJRs7Fiu9CWNK3uTYlHySKqMeGXC"
    "PJ3dJ592ECCqX22IHRwguHr8N5bNYrpYLHENJ/cuQsVnWMckr3LgI6qd4bR8K8NSpy+qkp"
    "C9lrJQB8lqUPl05+aclSnTJKNZBqumR75Xk6YVp5Dfpjm47g0+M6OmRT8ld4JzqqhkZDpA"
    "tALii4JNeLg8L4VHUbv3odnKtLy3Utb3VgRhfr5cMvr1jdQ3sGlqhbgepOTx+Qccn79Tw9"
    "CmAG2cVchfnTbFJBTotkt7UGo4FENJlle6k5UCpN8amioz+TapC7cv8YgpHjHFI6ZqEjHl"
    "X9tyigsh0hpKiYcuMIReqXyWnjp7fnejboGYkwdgt38N8T3PgO55IrbnUVOB90w5AA6R1R"
    "Dn1nkWYzz0St56zyPm+JkaF6FzjWV1IWnxSLsk4T3Apvng0B4g3CnoXnc7PZCejponx7Zk"
    "A6u9ateDcoE/O4kINlSNTW4as5jT5BOkN1R1qmV22rq82OgL7EuaqmAJqtEzg2oflzwYDk"
    "T4N+5NQL4n8Jjwz4BpBnqB27pp+cxkeAHUBvvZtSKCfPkBrVY+pLLSi2tw/gEqzaxx7/aO"
    "6WGGulhqlWUIwGwWZsaGeI8m+BXZHJqb11NyP7gbDTtd2zniG2dKNu0i9BF6zHfiXhSho6"
    "SyPna79fmLMLjuQ+9uf9x9+NIdAZvnElGYvRTDE7/OsT1Bc2/hJ1l28JPkDTyyx4AaMKe6"
    "k8qZVVYKEFX5JauMwzFqJ8yKdZSyfv6s0qMVKnDKctidUaHAhR0csgygKayeSIzKxexCyV"
    "B7VGkmoVq5j5iFJ07ssXaT/Ja1MC13xVXasgbyQREme2Scv1Xjb6Gkjn1XFKqaxMVLCr1X"
    "akdK9aFkfN3TUXdSgqia61E8zDliHwSsq/K8ERP44Fw5Ti237vXhKTB7E5R3HKLwgnUjp2"
    "PCR1JDVbt1nsX9A71SnBIRFxB7qXIg7HSvIbrNkywGI+iVrOudRExGcEfTkTmCCP99PBwk"
    "eS83JGHxVZVN9D+kqYdcbTMOXAZGQGh1MT26FX4Pw93pD6/C0igb4CpfynD5gXx//j8qdR"
    "4A"
)

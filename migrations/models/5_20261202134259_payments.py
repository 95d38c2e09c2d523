from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "payment" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "out_trade_no" VARCHAR(32) NOT NULL UNIQUE,
    "decision_number" VARCHAR(16) NOT NULL,
    "conversation" VARCHAR(96) NOT NULL,
    "principal" DECIMAL(10,2) NOT NULL,
    "late_fee" DECIMAL(10,2) NOT NULL,
    "days_overdue" INT NOT NULL,
    "amount" DECIMAL(10,2) NOT NULL,
    "state" VARCHAR(8) NOT NULL,
    "trade_no" VARCHAR(64) NOT NULL,
    "live_key" INT UNIQUE,
    "flagged" VARCHAR(128) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "paid_at" TIMESTAMPTZ,
    "closed_at" TIMESTAMPTZ,
    "refunded_at" TIMESTAMPTZ,
    "told_at" TIMESTAMPTZ,
    "payer_id" INT REFERENCES "app_user" ("id") ON DELETE RESTRICT,
    "violation_id" INT NOT NULL REFERENCES "violation" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_payment_decisio_cb6934" ON "payment" ("decision_number");
CREATE INDEX IF NOT EXISTS "idx_payment_state_20a678" ON "payment" ("state", "created_at");
CREATE INDEX IF NOT EXISTS "idx_payment_state_3d19c9" ON "payment" ("state", "told_at");
COMMENT ON COLUMN "payment"."state" IS 'CREATED: created\nPAYING: paying\nPAID: paid\nCLOSED: closed\nUNKNOWN: unknown\nREFUNDED: refunded';
        CREATE TABLE IF NOT EXISTS "payment_record" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "source" VARCHAR(8) NOT NULL,
    "out_trade_no" VARCHAR(64) NOT NULL,
    "notify_id" VARCHAR(128) UNIQUE,
    "trade_status" VARCHAR(32) NOT NULL,
    "accepted" BOOL NOT NULL,
    "outcome" VARCHAR(128) NOT NULL,
    "operator" VARCHAR(64) NOT NULL,
    "body" JSONB NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "payment_id" INT REFERENCES "payment" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_payment_rec_payment_947682" ON "payment_record" ("payment_id", "at");
COMMENT ON COLUMN "payment_record"."source" IS 'NOTIFY: notify\nQUERY: query\nCLOSE: close\nREFUND: refund';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "payment_record";
        DROP TABLE IF EXISTS "payment";"""


MODELS_STATE = (
    "eJztXXtz2ki2/ypd/LNOlTdl8CvD3NoqAXLCBgMX7GSyYUsjpMZoLVqMJOxQe/Pd72k9QG"
    "8kWYBQuioVS60+LfHr13n3f2sLTcaq8b6tEQMTk39RZEwkXGui/9aIuKAXcVXOUU1cLrcV"
    "aIEpTlWLZqapqvYqSDaNgL1EU8PURcmEajNRNTAUydiQdGVpKhqhxJ+0VyQSGb3OMYELpL"
    "0SrMOF8Yp1LCMR6fivFTbMc/SMlyaaaTp60jT5PW1d1iRoXiFPb21oRRR4JpjaEzbnWIfm"
    "vv8bihUi4x/YcG+Xz8JMwarsA0yRaQNWuWCul1ZZl5h3VkX6jVMARl0tyLbycm3ONbKprR"
    "CTlj5h+F7RxLR5U19RqMhKVR2QXfTsL91WsT/RQyPjmbhSKeCU2v6AbVlNEPqDB2HMPwhC"
    "LdQZLoUHVqeI9i10JHyqYf36J/oJf2/Ur26vPlzeXH2AKtZnbkpuf9qv3gJjE1rw9B9qP6"
    "3noinaNSyMt6BKc5EQrIaRbc9FnSerhQVvF75JdAaaD2YPeQBr+BFBrF1kk8B2C7Zob0dz"
    "frhr7U/cQxPB15oTMuQ+8k20FJ/whLQHHbiWYKYFR3lMdyzEH4KKyZM5h9sPCdB/4Ubw0t"
    "HZh3e0ZQ2mpj2F+86DBn1C+2bbFzDvde0FRwzzlqapWCTRQ91LFuiEKdCVpxdSD/oEWFuD"
    "QY+2vDCMv1SroPsQAPjxvsWPzuoW7lBJMbF3KniGPvS6MBeNefTgjwbbR3S4IV+r7Wt98Q"
    "3om6sUI/rmKnZI00eBMW2G0e0AOKaywDHD2YyAVnZI3rsX1RrVD917fvzA3Q99Q7vDPfD0"
    "ScMqXQdKz24C3bBpBH3tPnxC9Bb9a9DnLTg1w3zSrTdu6z38q0a/SVyZmkCArRBlLyZusV"
    "vknzuqQhkQoIBGjUwTKETJZtHOWbQysC7AhkUiZlM81H6qysHcuL5JgTPUigXaeuZH2mFd"
    "hUzMpp9oN9N5AotVEXwn5eRnz5Fsp4NYGOM7TcfKE/mM1yHGM4CrIz/dWSLRaNveiQH90x"
    "1MbmltI2Do4utGDAqMMcABfj22WZsRLOejbhsgp4hPRen5VdRlwQc9faI1tEDJpm740aKx"
    "CJaIBBYT2fkl9Lt9XVCLEG6dJ+e7Zdp0IiyHHNEXPSkvmABSc4zsBkACNTA2rJIXPFdgsi"
    "MQPFVFohIyWhFTUZFiIkxkIyzSFtlwhIj7veZQ0ufOpWComlkDYL/X3BdZ08G59jx2XkWf"
    "Ope7aP3VAgL29xp8KpYFm9F6EVVFFqxfYddksvfBZG97yOWWvbfkTPZ+q+ztnQYZBZYAaQ"
    "GSizPIS7ZFVUJwgbmkm5vFL0s3+ymZfFrqbvbucFk62UvHJnL5e3i6zrt7eulzbZ+H6dva"
    "Y/9u0OsNvjaB07T5uwkZ8V8Gn2Hv1PGL9gw7aY8bjuFWFZdGKfZSL4Mb6p7xQlTVWN4xSJ"
    "tLmC7ZtHP4yMvG7c2GhaQ3Sdzj+J7r9cI6a790kBHbEDED1weuT2rKiG2QlkEbPW7fgnFs"
    "Iwxsv81FMpUXLDzjmM0xxu7ioypkSzyu9O7b4i4bKfa4y0bsJkcfxQzpTLqRABXTFUcYZt"
    "3pnQlYP1GFVoTCYHVZq0yw+okYrGFYS2MxOnldaYK9yKflfpvB6NHAJdKOFm4nCmwwMYai"
    "iHWhAGi/bFs6rTUhLbj+1TAFth7TzRux7ejAnem9bXvVRNi/jRdg5kxhcx4Q/KDBf4eyOB"
    "91od6fvbkAGzJnmnixNGuxpmS3wnkKL2nRUzeFZdmmcn2XETWtNdGff5I//0TazLL+Un+a"
    "vxnIaddACkEikkSQMWRRR2sM/521sPIfgP9dlIl5D2+ItDWvnB2O1qd/ScgEzOy8h7Tzuv"
    "2QRdfh0lRJQCxCt0GyAkkYimEULc/ATHPdQ1ElMJkUWDpUE6RAd2NjEmAS5+aZqox//rX4"
    "ZxfUWP7Zg/pO/tnT37v55wfgXuWVTptAr6JiR/25sYGUpbWiA9FZ4wrN370Hrlc0ni1PC2"
    "B+YcCsDdR/7PUcb0rKCluEISZ6P6+ZkLlooCmm4Yy0Pjqjj8b3YwQIrLB8Th0+adESGHH4"
    "EkRtJRqB9+EXYOLf/Q5cOrwXLym5VaivJ8Tl81U8M+GNdsvTNdRd6pqEDepSKppIVmjM5M"
    "zE9iskbbFQzJSxkt/dYWZDBb8QRpjlFmpf0q5zAGDOnQd37oRhYIjWd4XgTQow89OV2bUz"
    "py3utzRxG7/Fh238ForasGYxLLUCWS2mUTxCPN4RpJWLlKmncfCpx3v41EMuPpvlJY/r1Y"
    "b4gEA7K3dGvGtDvt/p9j823ZV/QrjhcDT4wneayI27pf5Yd49jWqTjGXBfUML/MeyOaAn+"
    "sVR0WnLHdXu0YCYqKr1vc/0237OKJIqSqtoRvJn7Ns1kqsdPpnpoMtk7Rn7POi99mVcvn2"
    "M6bPZNZCyMPF1QsPucjkUj256xpajc0lV8LCUL+z4UyPAJOCI2OFlf56c8nK7pYr98ZhFa"
    "O1N7xiTz0PVTVc2vq/ihS7RIg208wBuCyq0LxTvNbaTREL47kkJ46FhcRpnjMhxGOav3aY"
    "CsastU8TPJFiyMPDFOPkoWyFbq6SQBb58vXtFPybq51N0sY0nJF7Hop2R7Y5l7mTm279P2"
    "ntWlIUjG/BpY0MBx0yEx74bUdnXm4M4c3E8S4Tc6uHsEQE/yZz/0LYfy7vMIq3GG5Pj00x"
    "VZOH5mSnkWDDWKR9X1dtqN7Tb7WTWGsl+Tt/WuLwYnj2t/ReDK5cKF5YHl+RTrwuVWOE/h"
    "wrVxokoTALFJbmelc3fDEdwseDI6s0IV/m7OkawYpkIkE2kEvwtkead5SmSbPmhL3cc7Jq"
    "TeqDcuqUvVTIGG7XAKw9SWNIzCfo8hUI+sc2RoyHzVHLs9oEAN70Qz0VSD95niM7Y+SBWN"
    "WPerbWwFsd2s3NugFwkLuDim79WpugMdTB1dvEMQi8tgcRllWRpYBEGpIgiKc3L3i4gRHF"
    "JIhoznkGSrquCRX3fySPE4s1NtysUAZN/3i97uS2R7Ln6zp5x2Dt4qQFZFviqNmb8eb+av"
    "h8z8c00FSUewbjNAHSCrINTFe1Q4mC0BqTxYb+gq5wZWr6cZ1fX4UV0PQu0qQSUQtmNOj9"
    "ntZx5qpMyjvMbVm4irTwjXgL8N+HsJfy8npAXlLShvQXkLyttw34b7Nty36T3Ua0O99hX8"
    "vYK/1/D3Gv7ewN+bCek0UWdC+CbiJ+Suie4m5L6J7iek30T9CRk20TCohknT5Wm8KuOdKk"
    "M+lYphrKh3l7iCHtIVM5NrWCRxmfu6NK6sdmb6ma4twnhTr5IY662PKsmj5AQhT4CYuohE"
    "Amhq2eGzaX5p8GiY1yr36r6lPuB+SjR9IaoZd9VafzC653oAmkUdFfzV4R+4bp8WydgEOG"
    "nZ+HFMo8toobEyllY+cje1d8fN7Q0lgy/8qPPIC/wfHKzsGgitMoia+Ie42D4Dqi7/dfsU"
    "iBX8mmfhLz6cbKlZbwoNg2T14JaKhYB43UHXVnJ0ehRFljUpQPbLLUshjWAaA7ttlIoYuV"
    "ns65W2AfsTRRSCVPq0IKcC2D4VooOVOdV+3GPDEJ8iFaL+CudJClFDJDLUFTSLpFwK0Zby"
    "9KvoRH9rNC4vbxsXlzcfrq9ub68/XGz2jPCjpB2k1f1I9w/fPr1bc/oMPz6LcObW3xeTVq"
    "WQHR1LylLJeIirj6h6KNcbqbTTjQT1dCOkn55qcoSG4Z/jQT8aY7d+kC9SJBP9H1KVUz5Y"
    "NApWigRteRMz4aJ5ds/9EQS63Ru0LHA8wRC0gVaQNWWRSrFDHn6gPCDqestEnUJMi7MqhE"
    "JaMnDT+2R+huJ6gUlksjP3USLDs/RU2ien40nG5Rnp//Zl6TI1lSXpiuWJ9ucotjIFeJ2M"
    "YXxn2ZSDdJWzGRfP/NA4RQO+KYfdOIK0goxQ4Yo3loHugBnolvB2YNTFqNODYfguRDVGz+"
    "mlC7I+NuF7p4ETRD1JM8e3u/dc76x+cW4vI8DUKLab2cbAeBGyG8NPF2Y4wjyfCLKXjGG8"
    "A2NZXBuCY0jIwHIEyZg3akQ0rbjQVlHif+Lo3RKxsbtj7J5cWkpHIMhqcWyPeJD9aOpIm3"
    "5Chtw3O0+luLbSVA65bofeKTTVZG9gZaeUVM1KTvnY/9wffO3TKJpnkOuIncDSNkXSDJbU"
    "EpnHdlhwHsQ8jHnxTHmJ/LCKdxBRY88JTUhHEXtIaL7I/goImB6LmCo+PeFMGnQPSeVG7F"
    "60u0zRmGc/LZNi0cUkMVkOS3D2S3QzZVFy9LGHjOW8KnP/2kxnnsXaS8j6uMx97AoNOXo5"
    "QMr6ucz97FqpMvaxh4z1b5n7dymus8afe0lYoreI/HmKZjs+ZsygFyBj2tTdsf0bzMI4Z0"
    "/05m3rxGBOG+UfHGMpsr1Zs70AeFPmTyjZ2pAWWO+a+IYEbzqWNF1+o1e14wkzstqqDuR7"
    "9ar2YxbvXrQFdaeTkaBv6+7X18jr1cT8iQ7sT2RoKz3u8JAUBqgNdZldLmrwrHv3jYa7mc"
    "psPSH/+8iP4BbeSU+9tIxNjq3JNSy5ZqUSGJXK5fFVIlX9Pg7SoeMjku9NOkzHQ1S1U0D2"
    "Yg6xR2VSsG2SqfQoYbaHGdF7OL1IkvDSjDLvtTRNxSKJceDwkAVQngJdeZb2IpQercGg59"
    "N3tLqBIKT+432Lh2Ee8OoIy86w5kpatrw3HpIy76FlWj+0JQVEy5Yl00NTuXWj+J3wdOKR"
    "av8DfJp1uDmarhTVVIjxnr72H/uC/tBRSjmOnmNW5JPQXFtidlbdtYeIaa93alg9uoU3Kg"
    "A9AVqnhXAGHaBnbJUqi+rQPmqxa+JFLUq55Xl8nqjaco5sVNyahSq2vofiUNxQcx3PsG4l"
    "bQ1mWQ/TAKNCNsZlj19QNr0YSz9Anx0i/QCLWTpgzFLZcj0cEdx9JHtwV6kMCPuIKghz8a"
    "KVqZhRJ3slqL1cAgZvCnhnkUchJTmz2/UrCO4eQqJhF8yiFnDrM7VA4WoBFlMQPwuqlbwk"
    "oPokuTrdR8h8GsusGWJhJJXt5pLkIWoplh6Ef4lJRuR7fp6kUZnaNelxdSnzEtW4layYSJ"
    "shaS6ayGnAQAtRxkgkMrLSCgeOz7NOt/MfzJenlQmZkAHBSNde0RLriJ4gCtz1Gk21FYHa"
    "K2JdIKiv46UqSpsmxJnpnP7nvAopBrRJ8Hs0BCleIzSLMuV2kGGKawMB27E5KhDe9jsS7Q"
    "/dvBHIKegymsK1aaClgVeyRtYLbWVALWhAXced6RfQITGHqUM6TEE3EoIjkqYkqHq2JBWU"
    "MopPA4R/wGSDGZXRESdAVr2ES8ULy6IUr7bc7f23pS7zsK61BpZDn7W001QSzr2z2FOPv2"
    "GPa9upJOxFP7jbHMHrj1l9fwVxjp2eyU7PLIHpt6ynZ7ZtxqnrMM21CFElWCVRWnEYMUHx"
    "1k5xzvhX3KbMO9WhKJZ0wKnKUlzb7D2U2FKDqQGXT4t+p3uLIybYYBqWNACCQIQgU3Tr0Z"
    "bpLQvqZZPYod9MlGCixNFEiUoZ3qxlKofS0kvHuFfGvZ5U5zLutbzca5sbt7kOfyzm1UI9"
    "gmN1eyOeTYUngtv1adhTWGFUqs82NHION0+KAbsXpjpkCVP9creD7Dzk6HWuSHP8AlcOI0"
    "E5xzWS4AsRPT4zij0tuHWmzy4XE6rIOfLb+4gqd5RA8cfP0zmU+UR0H1EFWdDi3ZMyH4R+"
    "hBPQDzeKCz8DHVZ2BRqThWnMadi7TQaBJsoMe+2Oa/O0KQlPyPh+3ETGwpiQr91+Z/C1iV"
    "7hbVquA2sLthRst+RcyewCxEwCOykJjLyp9yPImWvYCfsMHesk4LLN+DjJ0e8obh8FLJom"
    "XiyLOQqYs9uqOGLHOTz5hBGDxVV7hR9XCGJYHtC2qoqYE4VaTA65k92skjHyOV2+Eamgq2"
    "cVx5Rj7lXwG7GKsDVXBa59KkK/4Lli80ohXaj76DxJHfriqVRwwPbSOmfN6mba69ado9hi"
    "pvFjaiX9HZNH0xDo2jIrGnrc6CPfRBd1qmfgej24bEzIYNTp9rnRN+F+8DAYtb+1e7TO7Y"
    "T0uh8/PfhLP0zIw4jr9vhRE9WvJ6Q94NqfqD0datPGhT7/VeD7/Ojjtya6dt/jL23k0WWk"
    "UeHFa/DCCjzvDIzs+Bg9XoCuzN2dU51XsNboRcmUrcCpXj1Vf9IytVGS3sYrSW/TpyjYvW"
    "adQrqCmr10tLkRVYiKqipIou4uM1apKupP2C71LlILzdR0aQ0Q0sXqsf3Z6nfp2bN00W5S"
    "7Rl8fNchS2QT3tKd/hYOmHXOttbWMnbskB+NB/2mY+ulG9BHrt8dcw9dWqrpTyJRtvlKyt"
    "JBWa1qfqoyz7TSeHbZkOUyFEeQHiwu51AnBhZuLbZBy2zMDJBVcGgXb9K07R+6faiEFfyT"
    "zUIfRV1B4ItZU07AknGK6sCjquVPBbD9KrioU4MkOh8boeXyPD9PVnUFau7z5A2m0TqkRm"
    "sB3aDlFiW21GXeXSJdZvIICwUrO5YrfakZ2TzDtiRlRrw0rnfO7pNNOvARVS9ev/j8l8Zq"
    "+h8smflksUjiCg7ufbjvliMzZokUp8VrGZa69qLIMRFFCQu1n4yd7bBbnZN0SEkKreYxDi"
    "xxU3dn12n2O93+R6rUtOgnZMiNxzTXx1I0DCxPyB3VPXfoOxWV3vN/DLsjWmAnUytDLhAZ"
    "m/BxWSbFlqJy82EvJ8qwZJrx6FfXe9rApqnm6nU/JfOZPmGf6b0qhjZnMkdphbwHNieohH"
    "zV9nwSa7w7FEVJkla6EykApN9rqiJR/jauCtMvMY8p5jHFPKYq4jHlXdsysgsB0gpyiafO"
    "MASmVDZNT5Utv/sRt4DNyQKwW7+C+F6nQPc6FtvrsKpg+00ZAA6QVRDnxnUaZTzUit96r0"
    "Pq+JkS5aHTwZKyENVopF2S4B5g07x3aE8Q7gR0O3y7C9zTWf3ivBE4QtkF/uoixNhoSmRw"
    "05j6nMYfkLmhqlJ+qcvG7c1GXqA3SaKCxaiGj6auvF9yf9AX4N+4+wD8PYHPhH8GDDOQC9"
    "zSTclHysNzIDbY367mYeSLd2hd6pqE5ZWeX4LzNlDqzhp374dUDjOUxVItbYcAzGbuztgQ"
    "H1AFvyLWEKCWjayWksf+cDRo87ZxxNPOhGzKBajDdantxH0oQEVRoXXscuv6E9fv9KA23x"
    "vzXz/xI+jmuUhkqi/F8MWvc2wP0Mxb+EWaHfwifgMP7TEgBsw13QnlTMsr+YjKPMlKY3AM"
    "6wnTYh2mrJ49q3BvBcpLGtQjOTveEaS5AA+aM0rkuFD8LkFBk2mOhwiRi+qF4qHeUiWphC"
    "plPqIanii2x9pNsmvWgrTMFFdqzRrwB3k6eUvG+rds/ZsrqOPQWV7KxnEdJUyBw7oizWsR"
    "pmjnyXliUuJtHRaUcDDWZc9G4xesGxlVxR6SCgo/jes0CnmolaAmDinl6aTKgLBTvYLo1i"
    "/SiPBQK577vggJ8fBG09kF/AjHH0vuITn8yeTH4SUKO4P8qK5VP/8fCOpmiQ=="
)

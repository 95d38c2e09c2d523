from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "binding_event" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(64) NOT NULL,
    "action" VARCHAR(8) NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "app_user" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_binding_eve_externa_a38b61" ON "binding_event" ("external_id");
COMMENT ON COLUMN "binding_event"."action" IS 'BOUND: bound\nUNBOUND: unbound\nREPLACED: replaced';
COMMENT ON TABLE "binding_event" IS 'Audit of chat bindings made and ended, kept for good.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "binding_event";"""


MODELS_STATE = (
    "eJztXetzosoS/1coP+2tyt2K5rmeTwRJ4l2DKTWb3bOeohAmZm5whsMjiXXu/u+3h4cgDy"
    "NEDbJUWYX0dA/Dr2d6unsG+KcxoxrSrc8dEz8js4dVRFTUaHP/NIgyY3/SGQ64hmIYYTEj"
    "2MpEdyU0l1XWI7wTyzYV1YbSB0W3EJA0ZKkmNmxMCVCJo+uMSFVgxGQakhyC/3aQbNMpsh"
    "+RCQU//wIyJhp6RVZwajzJDxjp2lLLscau7dJle264tC6xL11GdrWJrFLdmZGQ2Zjbj5Qs"
    "uDGxGXWKCDIVG7HqbdNhzWet8+83uCOvpSGL18SIjIYeFEe3I7c7kUNaQ5al/kgeiiNZbu"
    "QASKWEgQtNtdy7n7Im/LvVPD47Pj86PT4HFreZC8rZL+/SITCeoAuPNGr8cssVW/E4XIxD"
    "UIkzm4AaEsAKj4qZjmwoEUMXmh1HN8CyvPDOlFdZR2RqP8Jp83wFlt/4gXDNDz41z//FLk"
    "hhAHjjQ/JLWm4RgzuE9wHrSM6PcUxsM0AHhBDpcPDuHurWOlC3sqFuxaF+pLoGZso9zQF1"
    "TKyCUB+tA/VRNtRHWVAbgFQRrBdyuwO70dhNr26u06ub2b26GYfan3VlVVcsKx1rEQyFi3"
    "cXWqb4U/QS7olKytzLG3yzzfHNMeFbcGzB8QiOR2NyAfQLoF8A/QLoApwLcC7AucDOgU8A"
    "PuEYjsdwPIHjCRxP4Xg6Jp021xkTsc2JY3LZ5i7H5KbN3YyJ1OakMbltc7eNAio/XkPjx5"
    "kKP47rG1uWAxeXFQc0ZGJ7nmd8pQqXWdcFh9npOqCfZqN+moD9WdGxJj+YdJbEuwMwpeO9"
    "LBUDGlwuZOMZ+sz+7CHkKyDu8CMxFUCb5ofPk/mtwQOzbTuFrXsovcP5lFBzpug5Z9WG1B"
    "/c8D0AzZUGY/z9tjsQwTCjVwObSAMjLY74rsRIGrIBTkYb3g1vRanDiJZjGQjaBdSB+K3/"
    "ldFM9EyfGKX/TRx07kRZ/M6DZacQtGoQaqJXZRaWgVRXvA9LQRijlyKGv3m6zlx/mj3Xn8"
    "aNkEHdKyW6wRCw0jMj3VDq7Wh3U+o/3JaZ96Ldo9bZ6SLQZSerYtwh9KheEOiGYKpzQFyG"
    "sWHaeWxSTOy3M0ss+/LwFEkVMMJEUZ9eFBOmungJbdEs3mTRrDWLUxSiTF0YWHtZ6/z0VN"
    "+xJ/T1BlmWMk3NXy0zHKzKX1kK0YBXpq5IufJXF3j6u6SwvrRaR0dnrcOj0/OT47Ozk/PD"
    "xRBPFq0a8BfdKzbcl8zq24muJ7j5PL50wL+tOfXjslybzweYSMUGRiTF0mYDvCRUPZSbrb"
    "WSia0V2cRWIp04oVpKQPifYV9Kxzjgj09jWLW5/3E6trbmIXzMJMaQYDXPLOtvPYrmpxv+"
    "exxoode/cMGhlj013VrcCi7inoSJGDiykuFIMIcgw5lYklzlS7A/e6gKGMSK1if63B9qK1"
    "Qz6t6IwxF/c7ukH+Z1sJKWS53HqJ/i3vOiEu6+O7rm2Cn3Z18S42pc8I3+bLA2KY5NZUJf"
    "ZEWLWIWAGqBWFufnArQJqIvPzDim+D5L5Stdn4nHKaMF61ueT4N3NGxz9IFTHxWb8yuwuJ"
    "miIQ4cKc6Nvg64J2TY3AM1uSml2ud4/FSsljGBOI0gzqQvnIFMDmvQamzPuQl1CHA7xP3D"
    "Ab+JDF1RF1UoDzbwg0MWXIrDFtRJ0GfuFpkWJSzYZK4BB5793OIocZkdC6Tgan9witfQxR"
    "VBnIGucRP4b1ucYSFHo2Q+o44FXFCBPnfvul7PLNd6JqiREKTncUQiIhXMlW4+TYFeYbDB"
    "iJLTOnA2zDGx6nl8m89Kg6FmLUoF+e28YChd5m7duOjfSZ22Z+PH5E7yz31jz/J8tz1e8B"
    "J9ntEvkq1bxxnPdsUTjnh+X7D2AffDB4xqmfkHqVYuc5qOSOwuG1vy6TrhVS8DnET3kpoI"
    "T8lXNE8YuBiovkN851ezZ+D+CnpPQA27pam8LDzGaKeCe4c7RrZ79wPo34OuABh/TJwieI"
    "5T13eaGymhSpxlZbTiO2IyjnK/HbBw90hgzjs1EMFudMDr2FDmnnsPFC9qsCl4+Yz0B5tb"
    "/DDBA9NyowEIBFICmU3XnhIw/Iy6oFE36a86lKhDiTqU+KhQolI7XFwzVSCHGZWrvdfae9"
    "0r5dbea3m9V4EfCnxH/Cjn1UU9xWMNtJHtpkKJHKh+HfcULIzO8tkWJQdwMsUWzF6I5ZBV"
    "xPLL3Q7nbfXnXh6x+oie4Z/vSDDPcc6p0EKO7TJMc083XHudzy6XE4q1Ao+PLAnVT+nE3d"
    "BENo+NodwPjiwJVdAF3fw2kdzPi3zAgyK768Ubf1QELDuGyjR5kvHQwNtLBrEqygx745IX"
    "RFaVisZkeDNsc9bMGpP7rtTp37e5F7gaLbSvd8MrBeGUXCD4SgjXEdheRWDkXdpPEd+A/v"
    "2Gl0X9e6LuAJP37BmKJGOi+3JSdvxf+PKXXwdIVzKWcTN2A+3Z8M8KI5efivNWBDB6J1Yp"
    "yxFVgWubsfI3BKGjC0ciXA6KDlZFzM8Rpo1uvf/ZMEDlyFMz07p75sc+9erJRwauy4op4o"
    "zGVFtmX7THD67AGT1sMleU7/Xgb2tM+oNOV+IHP+Sb/qg/EH4IPcZzNia97tX1aJl6Piaj"
    "Ad/tiQMIDdhDy31euGZLLsDNKpcl8V4WJXFw9aPNnQTXWaa2iri760R52UFeMsaLjsBUxW"
    "eEejG5Mqu7YMS34cDiGWfsDEsH2GevXjZolZlaxNFn2XH0WRzY7CeF3rZZ235qaCPWyjMd"
    "Aj9gMbOi67KqmIGZcam6Yk6RR40aqRm1qek+IMmM1Z3w1dW7+hQxXUxNujeCP351mb4A3P"
    "J71Llcww4fr/YS+o2cir0VB8O+1PaXA9gEdMVL3SE/6jIqNacKwdbCRS6LgvImXpelyjzS"
    "SrP470FWaC0hRXRnW7d39daejS8oeKDlznfHxCrYtTef9fZSZKZr1WR3f3i+RZw06QoCvx"
    "mbUpIH5L65yxSq4kOSkpSIlB+szkzEOEvzZoA6AfHOBMQM1EALe36hdJmNQeoiWAkWvQzH"
    "NKiVb603FCkz4qVZTDcR3CZbG8o33UWEqvcE3pd1IpQv2RHKl0SEYjmT/yLVLuY6pwpXsH"
    "NvY0POAzKDt02v37kjQpXLc20+KDRM+oy1jD3CKwz1sljl3uG6hejbsVWaleNYIwkViu80"
    "A+UuK+dPQUmdrnTFclCu/Jjc8sMhe3rXUCyLvaXvkqUKO+yaWGfn8XcAlsB9cV89mOvBn1"
    "CicuNhKy8yqt+pk41+dfdDWci29UJaX5asd0Ht8S6orSaGMNWzs0KLwoOVKaEltm3mg1bu"
    "XmEoqapj+nv/QPTn4j3uGSx1fqne4FJvcKk3uFRkg0vUtuV0F2KiFfQS991hiA2pfJmeKi"
    "/UbSfcAjcnD8ABfwXxPVkD3ZNMbE+SqYKwTTkAjolVEOfWyTrJeODKnnpPEun4B5y2oaKD"
    "VDxT9HSkA5H4HODJfPZl9xDuFeh2RKEL3tOn5uGB59mAtcfeU/eLTxId7u/XJ7YfNGziAx"
    "SV30Yq9SUZfsPuCPx7As2EnwXdDOKCgLqgXDEfnn35xWu7XsSR38IHV0yqIs0xi0dw0QpK"
    "raxh9+aWxWEWnhl6aRXCPmVUWBkL4R2m4B3idgG2spF3peROuh30BdFbHInUMyYLugw8fJ"
    "etnQSFMjAqmPF4dPf/NS91esAt9obi/bU4ADU/KkRj+VIELX55RF4HzT2FH64zgx9mT+CJ"
    "OabQV+3qr9nlXXBM5gnXxTopWb31rI3vVmC+pMU2kObHO0W0EODx5YwSbVzY/CzBQNPAuK"
    "WFXNlf9lqWeueHvfZn+Sjlc4PhbJI/sxaXrZfiSp1ZA/+giJJDsVq/ZdNvSZZaeWRi9bGR"
    "ss7qlxysfIdeyFPvuN/ZvLzlFdFnZFo586ARkQp69q2TdbLNwLUiB5rIOLNBlQNhn72C6D"
    "YP14lPgSvbtTxMRKhwRTv1Q4bZH9mLiNTf2cv5nb0Pncx+/R8ys/h5"
)

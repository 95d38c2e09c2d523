"""Local simulators of the outside systems, served by the app in sandbox mode.

They speak the real protocols so the production code paths run unchanged against them;
developers use them to try journeys and operators to rehearse. Everything they "send" is
recorded in the sandbox outbox (GET /sandbox/outbox).
"""

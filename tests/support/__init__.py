"""Test support: real servers (Redis, PostgreSQL) started for the test session."""

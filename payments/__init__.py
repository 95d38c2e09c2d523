"""Alipay fine payments: orders, notify verification, query/reconcile (the payment issue).

The rules they follow (late fees, the 22:00–00:30 maintenance window) are already pure
functions in bot/rules.py; the Alipay client and sandbox keys are in bot/integrations/alipay.py.
"""

"""Delivery channels behind one interface (see base.py)."""

from cartnudge.channels.base import Channel, Envelope, Result, SendResult

__all__ = ["Channel", "Envelope", "Result", "SendResult"]

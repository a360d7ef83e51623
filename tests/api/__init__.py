"""Tests for the ChargeNow cloud client package."""

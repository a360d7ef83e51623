"""Tests of the simulated ChargeNow cloud."""

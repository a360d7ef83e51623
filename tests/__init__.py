"""Tests of the Bajie Charging integration."""

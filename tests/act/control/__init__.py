"""Tests of soar/act/control."""

"""Tests of soar/act/http."""

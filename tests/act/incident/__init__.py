"""Tests of soar/act/incident."""

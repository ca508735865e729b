"""Test data makers shared by the test suites: Vietnamese scans, PDFs, text metrics."""

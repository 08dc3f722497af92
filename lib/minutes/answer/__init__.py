"""Answering questions from retrieved transcript chunks (shared by evaluation and the service)."""

"""Backtesting the scoring model against won and lost deals: replay each lead as it was
before its deal closed, then measure how well the score ranked the winners."""

"""Scheduling: market days from each site's rule, market-day service sessions 便民服务岗, rosters and
check-in, the five kinds of cadre visits 下访, and appointment slots."""

"""PostgreSQL: the schema, the alert writer and the queries behind the web views.

A thin shell over psycopg 3 and psycopg_pool; row mapping is pure and
unit-tested, everything else is tested against a real server.
"""

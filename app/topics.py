"""txwatch's topics.

Keys and values are raw bytes: txwatch decodes and validates them itself, so
a malformed message becomes a dead letter instead of being skipped by Faust's
own deserializer. The topics are ``internal``: the worker creates them (with
TOPIC_PARTITIONS partitions) when they do not exist yet.
"""

from __future__ import annotations

from app import app, settings

transactions_topic = app.topic(
    settings.topic("transactions"), key_serializer="raw", value_serializer="raw", internal=True
)
scores_topic = app.topic(
    settings.topic("scores"), key_serializer="raw", value_serializer="raw", internal=True
)
alerts_topic = app.topic(
    settings.topic("alerts"), key_serializer="raw", value_serializer="raw", internal=True
)
dead_letters_topic = app.topic(
    settings.topic("transactions-dlq"), key_serializer="raw", value_serializer="raw", internal=True
)


async def declare_output_topics() -> None:
    """Create the topics txwatch writes to but does not read, if missing.

    Faust creates only the topics a worker consumes; sending to a topic that
    does not exist would stall the producer instead.
    """
    for topic in (scores_topic, alerts_topic, dead_letters_topic):
        await topic.maybe_declare()

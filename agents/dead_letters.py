"""Dead letters: a message txwatch cannot process goes to ``transactions-dlq``.

(Labels that break their contract go to ``labels-dlq`` the same way.)

The dead letter keeps the original key and value bytes untouched, so it can
be replayed once fixed; why it failed and where it came from travel in
headers, as Kafka Connect's dead-letter queues do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from faust.types import EventT, Message, TopicT

from app.counters import counters
from app.topics import dead_letters_topic

logger = logging.getLogger(__name__)

HEADER_PREFIX = "txwatch.error."


def dead_letter_headers(message: Message, reason: str, detail: str) -> list[tuple[str, bytes]]:
    """The headers naming why ``message`` failed and where it came from."""
    return [
        (HEADER_PREFIX + "reason", reason.encode()),
        (HEADER_PREFIX + "detail", detail.encode("utf-8", "replace")[:1024]),
        (HEADER_PREFIX + "topic", message.topic.encode()),
        (HEADER_PREFIX + "partition", str(message.partition).encode()),
        (HEADER_PREFIX + "offset", str(message.offset).encode()),
    ]


async def send_dead_letter(
    message: Message, reason: str, detail: str, topic: TopicT = dead_letters_topic
) -> None:
    """Send ``message`` to ``topic`` (``transactions-dlq``) with its reason, and count it."""
    counters.dead_letter(reason)
    if counters.dead_letters[reason] == 1:
        logger.warning(
            "first dead letter with reason %s (%s:%s@%s): %s",
            reason,
            message.topic,
            message.partition,
            message.offset,
            detail,
        )
    await topic.send(
        key=message.key,
        value=message.value,
        headers=dead_letter_headers(message, reason, detail),
    )


async def isolate_failures(
    events: Sequence[EventT], process: Callable[[Sequence[EventT]], Awaitable[None]], what: str
) -> None:
    """``await process(events)``; if it fails, each event alone, dead-lettering those that fail.

    A failure of the batch as a whole must not lose the events that are not
    at fault, nor stop the agent: the ones still failing alone go to the
    dead letters with ``processing_error``. ``what`` names the work in logs.
    """
    try:
        await process(events)
    except Exception:
        logger.exception("%s: a batch of %d failed; one by one now", what, len(events))
        for event in events:
            try:
                await process([event])
            except Exception as exc:
                logger.exception("%s: failed on offset %d", what, event.message.offset)
                await send_dead_letter(event.message, "processing_error", repr(exc))

"""Every change txwatch makes to Faust's, mode's or aiokafka's behaviour, one module each.

Each module says which upstream behaviour it works around (and the issue,
where there is one); :mod:`app.patches.upstream` lists the private parts
they and the rest of txwatch rely on, checked when the app loads, and the
library versions they are tested with (pinned in ``constraints.txt``).

The consumer (assembled in :mod:`app.consumer`):

- :mod:`.rewind_never_committed`: never-committed partitions are rewound;
- :mod:`.eager_handover`: messages handed over without tasks;
- :mod:`.clearing_rereads`: records read again after Faust clears the buffers;
- :mod:`.changelog_rereads`: changelog records too (issue 23's stalls);
- :mod:`.livelock_check`: a partition being reset is not checked for events;
- :mod:`.fetch_policy`: how long the broker holds a fetch is a setting;
- :mod:`.consumer_on_loop`: the consumer on the worker's event loop.

The rest:

- :mod:`.lean_monitor`: Faust's Prometheus sensor without per-event hooks;
- :mod:`.early_web`: the web server starts before the first recovery ends;
- :mod:`.group_rejoin`: the recovery watchdog's rejoin of the group.
"""

"""Every write of the digest pipeline, one module per step:

- build.py: who is due, their Digest rows (ready or skipped), and the send tasks to enqueue
- send.py: claim a batch of ready rows, render, send over one connection, record each outcome
- dispatch.py: the hourly dispatch (who is due now, in every time zone)
- sweep.py: recover the rows of dead workers, retry failed ones
- day.py: the whole day end to end (`manage.py send_digests`, the demo)

Import from the submodule: `from digests.services.build import digests_build`.
"""

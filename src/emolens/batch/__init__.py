"""Batch analysis of photo archives and video libraries: on this machine, or on a Ray cluster.

    items, problems = find_inputs(["photos/", "videos/*.mp4", "list.txt"])   # inputs.py
    spec = WorkSpec(model="default")                                       # spec.py
    stats = run_job(items, spec, Output("results.parquet", spec.labels()))  # job.py, output.py
    stats = run_job(items, spec, output, ray="auto")                        # on_ray.py: a running cluster

One `Worker` (one engine) per process or Ray actor analyses whole inputs: a photo, or a video
from its first frame to its last, so a video's tracker never spans two workers. The driver
writes every result exactly once, in parts a stopped job keeps (a rerun skips what is there);
sessions go to the satisfaction store once each (sessions.py). Ray is optional (the `[ray]`
extra) and imported only when a job asks for it. See docs/batch.md.
"""

"""Batch analysis of photo archives and video libraries: on this machine, or on a Ray cluster.

    items, problems = find_inputs(["photos/", "videos/*.mp4", "list.txt"])   # inputs.py
    spec = WorkSpec(engine=EngineSpec(model="default"))                     # work.py
    for result in execute(items, spec, ray=None):                           # job.py (ray="auto": a cluster)
        output.add(result)                                                  # output.py: Parquet or CSV, resumable

One `Worker` (one engine) per process analyses whole inputs: a photo, or a video from its
first frame to its last, so a video's tracker never spans two workers. The driver writes
every result exactly once, in parts a stopped job keeps (a rerun skips what is there).
Ray is optional (the `[ray]` extra) and imported only when a job asks for it.
"""

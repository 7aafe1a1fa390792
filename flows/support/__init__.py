"""What flows share besides tasks: the run lifecycle (`runs`), run and change events
(`run_events`), artifacts, the start/end announcement, the review checkpoint, the per-stage
loops (`stages`), plain-path targets, and landing files (claim + `skuflow.source.landed`).

None of these are Prefect tasks: they run in the flow's own process and add no task runs.
"""

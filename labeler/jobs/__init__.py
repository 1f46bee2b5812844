"""Background jobs: zero-shot, training and prediction outside the page's script thread.

`runner` starts a job's process, tracks its progress, heartbeat and cancellation in the store's
run row and runs it to its end; `tasks` says what each kind of job does against the store.
"""

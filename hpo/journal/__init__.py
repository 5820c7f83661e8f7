"""Where a study's history lives and how it is read back.

Event encoding, storage backends, the fold of events into trials, replay checks and ownership of
a study directory by one driver process.
"""

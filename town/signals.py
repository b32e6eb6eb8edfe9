"""What the world tells other apps in-process, without importing them (they connect here).

Cross-process news travels by channel-layer messages and the control path instead; these
are for work that belongs in the same transaction as the world's own change.
"""

from django.dispatch import Signal

# A world was forked: sender is the new World; `source_id`, and `players` and
# `conversations` map the source's row ids to the fork's. Receivers copy their own rows
# and return how many (summed into the fork's audit record as "memories").
world_forked = Signal()

# An operator changed a resident's routine or brought one back: sender is the Player row.
# Its mind should plan the day again.
resident_changed = Signal()
